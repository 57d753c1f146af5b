"""The course's diagrams: QMIX's architecture, argmax consistency, the joint action space,
and VDN beside QMIX. Each is registered under its file name in ``figures/``."""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from ..analysis import argmax_consistency_example
from ..plotting import ALGO_COLORS, plot_q_table, style
from ._registry import register, save_figure
from .canvas import (
    AGENT,
    AGENT_FILL,
    BTAU,
    HYPER,
    HYPER_FILL,
    INK,
    INPUT,
    MIXER,
    MIXER_FILL,
    PANEL_FILL,
    RNN_FILL,
    Canvas,
)


# ------------------------------------------------------------------------------------------
# 1. the QMIX architecture
# ------------------------------------------------------------------------------------------
def _draw_mixing_network(c: Canvas, ox: float, oy: float) -> None:
    """Panel (a): Q_a in, a hypernetwork-weighted ELU layer, Q_tot out, s_t on the right."""
    xc = ox + 4.0  # the mixing network's axis
    q_y, hid_y, out_y = oy + 1.5, oy + 5.6, oy + 9.7
    w1_y, w2_y = (q_y + hid_y) / 2, (hid_y + out_y) / 2

    inputs = [
        c.circle(xc + dx, q_y, 0.6, label, edge=MIXER, face="white", size=13)
        for dx, label in ((-2.6, "$Q_1$"), (-0.9, "$Q_2$"), (2.6, "$Q_n$"))
    ]
    c.text(xc + 0.85, q_y, r"$\cdots$", size=15)
    hidden_box = c.box(xc, hid_y, 7.2, 1.3, edge=MIXER, face=MIXER_FILL, rounding=0.45)
    neurons = [
        c.circle(xc + dx, hid_y, 0.34, edge=MIXER, face="white")
        for dx in (-2.8, -1.4, 0.0, 1.4, 2.8)
    ]
    out = c.circle(xc, out_y, 0.68, "$Q_{tot}$", edge=MIXER, face=MIXER_FILL, size=13)

    # the mixing weights are drawn in the hypernetwork colour: they are its outputs
    for q in inputs:
        for n in neurons:
            c.line([q.x, n.x], [q.y + 0.6, n.y - 0.34], color=HYPER, lw=1.0, alpha=0.55)
    for n in neurons:
        c.line([n.x, out.x], [n.y + 0.34, out.y - 0.68], color=HYPER, lw=1.0, alpha=0.55)
    c.text(
        hidden_box.x - 3.35, hid_y + 0.95, "ELU", size=12, color=MIXER, ha="left", fontweight="bold"
    )
    c.arrow(out.top, (xc, out_y + 1.45), color=MIXER, lw=1.8)
    c.text(xc, out_y + 1.85, rf"$Q_{{tot}}({BTAU},\mathbf{{u}})$", size=14)

    # hypernetworks: one per mixing parameter, all reading the state
    hx, habs = ox + 11.2, ox + 8.65
    specs = (
        ("hyper_w_1", w1_y, r"$|W_1|$", True),
        ("hyper_b_1", hid_y, r"$b_1$", False),
        ("hyper_w_final", w2_y, r"$|W_2|$", True),
        ("V", out_y, r"$V(s)$", False),
    )
    bus_x = ox + 13.85
    for name, y, symbol, uses_abs in specs:
        box = c.box(
            hx, y, 3.3, 0.95, name, edge=HYPER, face=HYPER_FILL, size=10.5, family="monospace"
        )
        c.line([bus_x, box.right[0] + 0.02], [y, y], color=HYPER, lw=1.5)
        c.arrow((bus_x - 0.05, y), box.right, color=HYPER, lw=1.5)
        if uses_abs:
            absn = c.circle(habs, y, 0.42, r"$|\cdot|$", edge=HYPER, face="white", size=11)
            c.arrow(box.left, absn.right, color=HYPER)
            start = absn.left
        else:
            start = box.left
        target_x = {
            w1_y: xc + 3.05,
            hid_y: hidden_box.right[0],
            w2_y: xc + 1.85,
            out_y: out.right[0],
        }[y]
        c.arrow(start, (target_x, y), color=HYPER, lw=1.6)
        label_x = (start[0] + target_x) / 2
        if uses_abs:
            c.text(label_x + 0.05, y + 0.5, symbol, size=12.5, color=HYPER, backdrop=PANEL_FILL)
        else:
            c.text(
                (start[0] + target_x) / 2,
                y + 0.5,
                symbol,
                size=12.5,
                color=HYPER,
                backdrop=PANEL_FILL,
            )
    c.text(hx, out_y + 0.95, "Linear-ReLU-Linear", size=9.5, color=HYPER)
    s_node = c.box(bus_x, q_y, 1.4, 1.0, "$s_t$", edge=INPUT, face="white", size=14)
    c.line([bus_x, bus_x], [s_node.top[1], out_y], color=HYPER, lw=1.5)
    c.text(
        ox + 7.0,
        oy + 0.45,
        "weights from hypernetworks; $|\\cdot|$ keeps them $\\geq 0$",
        size=10.5,
        color=HYPER,
    )


def _draw_overall(c: Canvas, ox: float, oy: float) -> None:
    """Panel (b): n agent networks feed their chosen Q_a, with s_t, into the mixing network."""
    mixer = c.box(
        ox + 5.0, oy + 8.2, 8.6, 1.6, "Mixing network", edge=MIXER, face=MIXER_FILL, size=14
    )
    c.arrow(mixer.top, (mixer.x, oy + 10.65), color=MIXER, lw=1.8)
    c.text(mixer.x, oy + 11.05, rf"$Q_{{tot}}({BTAU},\mathbf{{u}})$", size=14)
    s_box = c.box(ox + 11.6, mixer.y, 1.4, 1.0, "$s_t$", edge=INPUT, face="white", size=14)
    c.arrow(s_box.left, mixer.right, color=INPUT)

    for x, a in ((ox + 2.3, "1"), (ox + 7.7, "n")):
        agent = c.box(x, oy + 3.8, 3.2, 1.5, f"Agent {a}", edge=AGENT, face=AGENT_FILL, size=13.5)
        c.arrow(agent.top, (x, mixer.bottom[1]), color=AGENT)
        c.text(x, oy + 6.05, rf"$Q_{a}(\tau^{a},u^{a}_t)$", size=12.5, backdrop=PANEL_FILL)
        c.arrow((x, oy + 1.75), agent.bottom, color=INPUT)
        c.text(x, oy + 1.3, rf"$(o^{a}_t,\,u^{a}_{{t-1}})$", size=12.5)
    c.text(ox + 5.0, oy + 3.8, r"$\cdots$", size=16)


def _draw_agent(c: Canvas, ox: float, oy: float) -> None:
    """Panel (c): the DRQN agent network with its recurrence and action selection."""
    xc = ox + 4.6
    inputs = [
        c.box(xc + dx, oy + 1.45, w, 0.95, label, edge=INPUT, face="white", size=13)
        for dx, w, label in ((-2.6, 1.5, "$o^a_t$"), (0.0, 1.8, "$u^a_{t-1}$"), (2.6, 1.5, "$a$"))
    ]
    for node, note in zip(inputs, ("observation", "last action", "agent id"), strict=True):
        c.text(node.x, oy + 0.55, note, size=10, color="#555555")
    fc1 = c.box(xc, oy + 3.55, 6.8, 1.0, "Linear + ReLU", edge=AGENT, face=AGENT_FILL, size=12.5)
    for node in inputs:
        c.arrow(node.top, (node.x, fc1.bottom[1]), color=INPUT)
    gru = c.box(
        xc, oy + 5.85, 6.8, 1.3, "GRU", edge=AGENT, face=RNN_FILL, size=13.5, fontweight="bold"
    )
    c.arrow(fc1.top, gru.bottom, color=AGENT)
    # the hidden state leaves on the right and comes back for the next step
    top_y, low_y = gru.y + 0.35, gru.y - 0.35
    c.arrow(
        (gru.right[0], top_y),
        (gru.right[0], low_y),
        color=AGENT,
        lw=1.6,
        connection="arc,angleA=0,angleB=0,armA=55,armB=55,rad=12",
    )
    c.text(gru.right[0] + 0.55, top_y + 0.45, "$h^a_t$", size=12.5, ha="left")
    c.text(gru.right[0] + 0.55, low_y - 0.5, "$h^a_{t-1}$", size=12.5, ha="left")
    fc2 = c.box(xc, oy + 8.0, 6.8, 1.0, "Linear", edge=AGENT, face=AGENT_FILL, size=12.5)
    c.arrow(gru.top, fc2.bottom, color=AGENT)

    # Q_a(tau^a, .) as one cell per action, the greedy one marked
    values = np.array([0.3, 0.9, 0.5, 0.1, 0.6])
    cell, q_y = 0.75, oy + 9.85
    x0 = xc - cell * len(values) / 2
    best = int(values.argmax())
    for i, v in enumerate(values):
        c.ax.add_patch(
            Rectangle(
                (x0 + i * cell, q_y - cell / 2),
                cell,
                cell,
                facecolor=mpl.colormaps["Greens"](0.15 + 0.7 * v),
                edgecolor=AGENT if i != best else HYPER,
                linewidth=1.2 if i != best else 2.6,
                zorder=4 if i != best else 5,
            )
        )
    c.arrow(fc2.top, (xc, q_y - cell / 2), color=AGENT)
    c.text(x0 - 0.25, q_y, r"$Q_a(\tau^a,\cdot)$", size=12.5, ha="right")
    select = c.box(
        xc, oy + 11.55, 3.6, 0.95, r"$\epsilon$-greedy", edge=INPUT, face="white", size=12.5
    )
    c.arrow((xc, q_y + cell / 2), select.bottom, color=INPUT)
    c.arrow(select.right, (select.right[0] + 1.35, select.y), color=INPUT)
    c.text(select.right[0] + 1.5, select.y, "$u^a_t$", size=13.5, ha="left")
    c.text(
        xc,
        oy + 12.45,
        r"acting: $\epsilon$-greedy; evaluation: $\arg\max$",
        size=10,
        color="#555555",
    )


@register("qmix_architecture")
def qmix_architecture(out_dir: Path) -> list[Path]:
    """QMIX in three panels: (a) mixing network, (b) overall structure, (c) DRQN agent."""
    height = 14.2
    widths = (15.3, 13.2, 12.2)
    gap = 0.5
    c = Canvas(sum(widths) + 2 * gap + 0.4, height)
    x = 0.2
    titles = ("(a) Mixing network", "(b) Overall QMIX architecture", "(c) Agent network (DRQN)")
    drawers = (_draw_mixing_network, _draw_overall, _draw_agent)
    for w, title, draw in zip(widths, titles, drawers, strict=True):
        c.panel(x, 0.2, w, height - 0.4, title)
        draw(c, x + 0.3, 0.3)
        x += w + gap
    return save_figure(c.fig, out_dir, "qmix_architecture")


# ------------------------------------------------------------------------------------------
# 2. argmax consistency (IGM)
# ------------------------------------------------------------------------------------------
@register("argmax_consistency")
def argmax_consistency(out_dir: Path) -> list[Path]:
    """Per-agent Q bars beside the joint Q_tot grid of a monotonic mixer: the argmaxes agree."""
    ex = argmax_consistency_example()
    names = ["A", "B", "C", "D", "E"][: len(ex["q1"])]
    highlight, plain = ALGO_COLORS["qmix"], "#BBBBBB"
    with style():
        fig = Figure(figsize=(8.0, 6.2), layout="constrained")
        grid = fig.add_gridspec(2, 2, width_ratios=(1, 2.1), height_ratios=(1, 2.1))
        ax_grid = fig.add_subplot(grid[1, 1])
        ax_q1 = fig.add_subplot(grid[1, 0], sharey=ax_grid)
        ax_q2 = fig.add_subplot(grid[0, 1], sharex=ax_grid)
        ax_text = fig.add_subplot(grid[0, 0])
        ax_text.axis("off")

        plot_q_table(ax_grid, ex["q_tot"], None, "", "", action_names=names)
        ax_grid.xaxis.set_ticks_position("bottom")
        ax_grid.xaxis.set_label_position("bottom")
        ax_grid.set_xlabel("agent 2 action $u^2$")
        ax_grid.set_ylabel("")
        ax_grid.tick_params(labelleft=False)
        ax_grid.set_title(r"$Q_{tot}(u^1,u^2)$ from a monotonic mixer", fontsize=12, pad=6)

        rows = np.arange(len(ex["q1"]))
        colors1 = [highlight if i == ex["greedy"][0] else plain for i in rows]
        ax_q1.barh(rows, ex["q1"], height=0.6, color=colors1)
        ax_q1.invert_xaxis()  # bars grow away from the grid they explain
        ax_q1.axvline(0, color="#4D4D4D", linewidth=0.8)
        ax_q1.set_ylabel("agent 1 action $u^1$")
        ax_q1.set_xlabel("$Q_1(u^1)$")
        ax_q1.grid(axis="y", visible=False)
        ax_q1.tick_params(axis="y", length=0)
        for i, v in zip(rows, ex["q1"], strict=True):
            ax_q1.text(
                v, i, f" {v:.2f} ", ha="right" if v >= 0 else "left", va="center", fontsize=10
            )

        cols = np.arange(len(ex["q2"]))
        colors2 = [highlight if j == ex["greedy"][1] else plain for j in cols]
        ax_q2.bar(cols, ex["q2"], width=0.6, color=colors2)
        ax_q2.axhline(0, color="#4D4D4D", linewidth=0.8)
        ax_q2.set_ylabel("$Q_2(u^2)$")
        ax_q2.tick_params(labelbottom=False, axis="x", length=0)
        ax_q2.grid(axis="x", visible=False)
        for j, v in zip(cols, ex["q2"], strict=True):
            ax_q2.text(j, v, f"{v:.2f}", ha="center", va="bottom" if v >= 0 else "top", fontsize=10)
        pad = 0.25 * np.ptp(np.r_[ex["q2"], 0.0])
        ax_q2.set_ylim(
            min(ex["q2"].min(), 0) - pad * (ex["q2"].min() < 0), max(ex["q2"].max(), 0) + pad
        )
        pad = 0.35 * np.ptp(np.r_[ex["q1"], 0.0])
        ax_q1.set_xlim(
            max(ex["q1"].max(), 0) + pad, min(ex["q1"].min(), 0) - pad * (ex["q1"].min() < 0)
        )

        g1, g2 = ex["greedy"]
        ax_text.text(
            0.0,
            0.5,
            "Each agent picks its own\ngreedy action:\n"
            f"$u^1 = {names[g1]}$, $u^2 = {names[g2]}$.\n\n"
            "The joint greedy action\nof $Q_{tot}$ is the same pair,\n"
            f"$({names[ex['joint_greedy'][0]]}, {names[ex['joint_greedy'][1]]})$: no search over\n"
            "joint actions needed.",
            transform=ax_text.transAxes,
            va="center",
            ha="left",
            fontsize=10.5,
        )
    return save_figure(fig, out_dir, "argmax_consistency", png_width_px=1200)


# ------------------------------------------------------------------------------------------
# 3. the joint action space
# ------------------------------------------------------------------------------------------
@register("joint_action_growth")
def joint_action_growth(out_dir: Path) -> list[Path]:
    """``|U|^n`` joint actions against ``n|U|`` evaluations for per-agent maximisation."""
    n = np.arange(1, 11)
    shades = mpl.colormaps["viridis"]([0.05, 0.45, 0.75])
    with style():
        fig = Figure(figsize=(7.2, 4.4), layout="constrained")
        ax = fig.subplots()
        for n_actions, color in zip((2, 5, 10), shades, strict=True):
            ax.plot(
                n,
                float(n_actions) ** n,
                color=color,
                marker="o",
                markersize=4,
                label=f"$|U| = {n_actions}$",
            )
            ax.plot(
                n,
                n * n_actions,
                color=color,
                linestyle="--",
                marker="o",
                markersize=3,
                markerfacecolor="white",
            )
        ax.set_yscale("log")
        ax.set_xticks(n)
        ax.set_xlabel("number of agents $n$")
        ax.set_ylabel("Q-values to compare for the greedy action")
        ax.set_title("Centralised argmax is exponential, decentralised argmax is linear")
        first = ax.legend(loc="upper left", title="actions per agent")
        style_handles = [
            Line2D([], [], color=INK, label=r"joint: $|U|^n$"),
            Line2D([], [], color=INK, linestyle="--", label=r"per agent: $n\,|U|$"),
        ]
        ax.add_artist(first)
        ax.legend(handles=style_handles, loc="upper center", title="maximisation")
        ax.annotate(
            "$10^{10}$ vs $100$",
            xy=(10, 1e10),
            xytext=(8.2, 1e10),
            fontsize=10.5,
            va="center",
            ha="right",
            arrowprops={"arrowstyle": "-|>", "color": "#555555"},
        )
    return save_figure(fig, out_dir, "joint_action_growth", png_width_px=1200)


# ------------------------------------------------------------------------------------------
# 4. VDN vs QMIX
# ------------------------------------------------------------------------------------------
@register("vdn_vs_qmix_structure")
def vdn_vs_qmix_structure(out_dir: Path) -> list[Path]:
    """VDN's plain sum beside QMIX's state-conditioned monotonic mixing network."""
    vdn, qmix = ALGO_COLORS["vdn"], ALGO_COLORS["qmix"]
    c = Canvas(24.4, 9.6, scale=0.36)
    for ox, title in ((0.2, "VDN: sum"), (12.4, "QMIX: monotonic mixing")):
        c.panel(ox, 0.2, 11.8, 9.2, title)
    for ox, color, fill in ((0.2, vdn, "#FCEBC6"), (12.4, qmix, MIXER_FILL)):
        xc = ox + 5.0
        qs = [
            c.circle(xc + dx, 1.6, 0.6, s, edge=color, face="white")
            for dx, s in ((-3.0, "$Q_1$"), (-1.2, "$Q_2$"), (3.0, "$Q_n$"))
        ]
        c.text(xc + 0.9, 1.6, r"$\cdots$", size=15)
        if color == vdn:
            mix = c.circle(xc, 5.1, 0.85, r"$\Sigma$", edge=color, face=fill, size=18)
            c.text(xc, 7.95, r"$Q_{tot} = \sum_a Q_a$", size=13)
        else:
            mix = c.box(xc, 5.1, 5.6, 1.6, "", edge=color, face=fill)
            c.text(xc, 5.35, "mixing network", size=13)
            c.text(xc, 4.7, r"weights $\geq 0$, ELU", size=10.5, color="#444444")
            s = c.box(xc + 5.1, 5.1, 1.3, 1.0, "$s_t$", edge=INPUT, face="white", size=14)
            c.arrow(s.left, mix.right, color=HYPER)
            c.text(s.x, 6.05, "hypernetworks", size=10, color=HYPER)
            c.text(xc, 7.95, r"$\partial Q_{tot}/\partial Q_a \geq 0$", size=13)
        for q in qs:
            dx = np.clip((q.x - mix.x) * 0.25, -mix.w / 2 + 0.3, mix.w / 2 - 0.3)
            c.arrow(
                q.top, (mix.x + dx, mix.bottom[1] if color == qmix else mix.y - 0.82), color=color
            )
        c.arrow(mix.top, (xc, 7.35), color=color, lw=1.8)
    return save_figure(c.fig, out_dir, "vdn_vs_qmix_structure", png_width_px=1200)
