// Widget labels are typeset with MathJax 2's MathJax.Hub.Queue by the ipywidgets HTML
// manager; the site loads MathJax 3, which has no Hub. This gives MathJax 3 a Hub.Queue
// that typesets the element, holding elements that arrive before MathJax is ready.
// It must run after the page's MathJax configuration and before MathJax starts.
(function () {
  var pending = [];
  function queue(job) {
    var element = job && job[2];
    if (!element) return;
    var mj = window.MathJax;
    if (mj && mj.typesetPromise && mj.startup && mj.startup.promise) {
      mj.startup.promise.then(function () {
        return mj.typesetPromise([element]);
      });
    } else {
      pending.push(element);
    }
  }
  // Added to the configuration the page has already set (MathJax itself is deferred).
  var config = window.MathJax || {};
  config.Hub = { Queue: queue };
  config.startup = config.startup || {};
  config.startup.ready = function () {
    window.MathJax.startup.defaultReady();
    window.MathJax.Hub = { Queue: queue };
    if (pending.length) {
      var elements = pending.splice(0);
      window.MathJax.startup.promise.then(function () {
        return window.MathJax.typesetPromise(elements);
      });
    }
  };
  window.MathJax = config;
})();
