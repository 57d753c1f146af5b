// The ipywidgets HTML manager finds its Font Awesome files next to the AMD modules it
// defines ("@jupyter-widgets/..."); map those module names onto the copy this site serves.
(function () {
  var here = document.currentScript.src;
  var vendor = here.slice(0, here.lastIndexOf("/")) + "/vendor/html-manager";
  require.config({
    paths: { "@jupyter-widgets/html-manager/dist": vendor, "@jupyter-widgets": vendor },
  });
})();
