"""Draw one LSTM cell as it is computed in lstm_np and save it as docs/lstm_cell.png.

Run ``python docs/make_cell_figure.py``; the PNG is written next to this script.
Names follow the code: ``kernel``, ``recurrent_kernel``, ``bias`` and the gate order
``i, f, g, o`` of :data:`lstm_np.gates.LSTM_GATES` (Keras order).
"""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch  # noqa: E402

GATE, GATE_FILL = "#2b6cb0", "#dbeafe"    # gate layers (sigma / tanh) and their outputs
CELL, CELL_FILL = "#dd6b20", "#fff1e0"    # cell-state path
HIDDEN = "#2f855a"                        # hidden state h
INK = "#2d3748"                           # input x_t, pre-activation z, text
R = 0.22                                  # radius of the pointwise-operation circles

fig = plt.figure(figsize=(14, 8), dpi=100, facecolor="white")
ax = fig.add_axes([0, 0, 1, 1])
ax.set_xlim(0, 14)
ax.set_ylim(0, 8)
ax.axis("off")


def arrow(points, color, lw=2.0):
    """A polyline through ``points`` with an arrow head on its last segment."""
    if len(points) > 2:
        xs, ys = zip(*points[:-1])
        ax.plot(xs, ys, color=color, lw=lw, solid_capstyle="butt", zorder=2)
    ax.add_patch(FancyArrowPatch(points[-2], points[-1], arrowstyle="-|>", mutation_scale=18,
                                 color=color, lw=lw, shrinkA=0, shrinkB=0, zorder=2))


def box(x, y, w, h, text, edge, fill, size=18, sub=None):
    """A rounded box centred on (x, y), with an optional smaller second line."""
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.08",
                                ec=edge, fc=fill, lw=2, zorder=3))
    if sub is None:
        ax.text(x, y, text, ha="center", va="center", fontsize=size, color=INK, zorder=4)
    else:
        ax.text(x, y + 0.14, text, ha="center", va="center", fontsize=size, color=INK, zorder=4)
        ax.text(x, y - 0.22, sub, ha="center", va="center", fontsize=11, color=INK, zorder=4)


def op(x, y, symbol, color):
    """A pointwise operation: a circle with x or +."""
    ax.add_patch(Circle((x, y), R, ec=color, fc="white", lw=2, zorder=3))
    ax.text(x, y + 0.01, symbol, ha="center", va="center", fontsize=17, color=color, zorder=4)


def dot(x, y, color):
    ax.add_patch(Circle((x, y), 0.06, color=color, zorder=4))


def label(x, y, text, color=INK, size=16, **kw):
    ax.text(x, y, text, fontsize=size, color=color, zorder=4, **kw)


# Layout: x positions of the four gate columns (drawn f, i, g, o so that no paths cross),
# y positions of the cell-state belt, the gate boxes and the pre-activation z.
XF, XI, XG, XO, XH = 2.5, 3.9, 5.3, 6.9, 8.3
Y_BELT, Y_GATE, Y_IG, Y_O = 6.3, 3.7, 5.0, 4.6
GATE_TOP, GATE_BOTTOM = Y_GATE + 0.4, Y_GATE - 0.4

ax.add_patch(FancyBboxPatch((1.25, 0.6), 8.2, 6.4, boxstyle="round,pad=0,rounding_size=0.25",
                            ec="#a0aec0", fc="#f7fafc", lw=1.5, zorder=0))
label(1.25, 7.25, "One LSTM cell, time step $t$", size=17, weight="bold", va="bottom")

# Cell-state conveyor belt: c_{t-1} -> x f -> + (i * g) -> c_t.
label(0.15, Y_BELT, "$c_{t-1}$", CELL, va="center")
arrow([(0.85, Y_BELT), (XF - R, Y_BELT)], CELL, lw=3)
arrow([(XF + R, Y_BELT), (XG - R, Y_BELT)], CELL, lw=3)
arrow([(XG + R, Y_BELT), (9.95, Y_BELT)], CELL, lw=3)
label(9.75, Y_BELT + 0.2, "$c_t$", CELL, ha="center", va="bottom")
op(XF, Y_BELT, r"$\times$", CELL)
op(XG, Y_BELT, "+", CELL)

# Gate layers, each fed by its block of z.
for x, sym, name in [(XF, r"$\sigma$", "forget gate"), (XI, r"$\sigma$", "input gate"),
                     (XG, "tanh", "candidate"), (XO, r"$\sigma$", "output gate")]:
    box(x, Y_GATE, 1.2, 0.8, sym, GATE, GATE_FILL, size=18 if sym != "tanh" else 15, sub=name)

arrow([(XF, GATE_TOP), (XF, Y_BELT - R)], GATE)                       # f -> x on the belt
label(XF - 0.12, 5.1, "$f$", GATE, ha="right", va="center")
arrow([(XI, GATE_TOP), (XI, Y_IG), (XG - R, Y_IG)], GATE)             # i -> x
label(XI - 0.12, 4.55, "$i$", GATE, ha="right", va="center")
arrow([(XG, GATE_TOP), (XG, Y_IG - R)], GATE)                         # g -> x
label(XG + 0.12, 4.5, "$g$", GATE, ha="left", va="center")
op(XG, Y_IG, r"$\times$", CELL)
arrow([(XG, Y_IG + R), (XG, Y_BELT - R)], CELL)                       # i*g -> +
label(XG + 0.12, 5.65, r"$i \odot g$", CELL, ha="left", va="center", size=15)

# Output: h_t = o * tanh(c_t).
dot(XH, Y_BELT, CELL)
box(XH, 5.45, 0.9, 0.5, "tanh", CELL, CELL_FILL, size=15)
arrow([(XH, Y_BELT), (XH, 5.7)], CELL)
arrow([(XH, 5.2), (XH, Y_O + R)], CELL)
arrow([(XO, GATE_TOP), (XO, Y_O), (XH - R, Y_O)], GATE)               # o -> x
label(7.55, Y_O + 0.08, "$o$", GATE, ha="center", va="bottom")
op(XH, Y_O, r"$\times$", HIDDEN)
ax.plot([XH + R, 10.35], [Y_O, Y_O], color=HIDDEN, lw=2, zorder=2)
dot(10.35, Y_O, HIDDEN)
arrow([(10.35, Y_O), (10.35, 7.4)], HIDDEN)                            # up: output
label(10.35, 7.5, "$h_t$ (output)", HIDDEN, ha="center", va="bottom")
arrow([(10.35, Y_O), (10.95, Y_O)], HIDDEN)                            # right: next step
label(11.05, Y_O, "$h_t$", HIDDEN, ha="left", va="center")

# Fused pre-activation z, split into four blocks in Keras order i, f, g, o.
box(5.0, 1.25, 6.2, 0.6,
    r"$z = x_t \cdot \mathtt{kernel} + h_{t-1} \cdot \mathtt{recurrent\_kernel} + \mathtt{bias}$",
    INK, "white", size=15)
label(0.15, 1.25, "$h_{t-1}$", HIDDEN, va="center")
arrow([(0.85, 1.25), (1.9, 1.25)], HIDDEN)
label(4.85, 0.3, "$x_t$", INK, ha="right", va="center")
arrow([(5.0, 0.05), (5.0, 0.95)], INK)
arrow([(5.0, 1.55), (5.0, 1.95)], INK)
for k, gate in enumerate("ifgo"):
    x0 = 3.3 + 0.85 * k
    ax.add_patch(plt.Rectangle((x0, 1.95), 0.85, 0.45, ec=GATE, fc=GATE_FILL, lw=1.5, zorder=3))
    label(x0 + 0.425, 2.175, f"$z_{gate}$", INK, size=15, ha="center", va="center")
label(6.85, 2.175, "Keras order", INK, size=12, ha="left", va="center", style="italic")
ax.plot([5.0, 5.0], [2.4, 2.8], color=INK, lw=2, zorder=2)
ax.plot([XF, XO], [2.8, 2.8], color=INK, lw=2, zorder=2)
dot(5.0, 2.8, INK)
for x, gate in [(XF, "f"), (XI, "i"), (XG, "g"), (XO, "o")]:
    arrow([(x, 2.8), (x, GATE_BOTTOM)], INK)
    label(x + 0.1, 3.05, f"$z_{gate}$", INK, size=13, ha="left", va="center")

# Equations.
ax.add_patch(FancyBboxPatch((11.6, 1.85), 2.25, 5.15, boxstyle="round,pad=0,rounding_size=0.15",
                            ec="#a0aec0", fc="white", lw=1.5, zorder=0))
label(11.8, 6.6, "Equations", INK, size=15, weight="bold", va="center")
equations = [r"$i = \sigma(z_i)$", r"$f = \sigma(z_f)$", r"$g = \tanh(z_g)$", r"$o = \sigma(z_o)$",
             r"$c_t = f \odot c_{t-1} + i \odot g$", r"$h_t = o \odot \tanh(c_t)$"]
for k, eq in enumerate(equations):
    label(11.8, 6.0 - 0.6 * k, eq, INK, size=15, va="center")
label(11.8, 2.35, r"$\sigma$: logistic sigmoid" "\n" r"$\odot$: element-wise product",
      INK, size=11, va="center", linespacing=1.6)

out = Path(__file__).with_name("lstm_cell.png")
fig.savefig(out, dpi=100, facecolor="white")
print(f"wrote {out}")
