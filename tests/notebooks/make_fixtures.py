"""Regenerate the runner's fixture notebooks: `.venv/bin/python tests/notebooks/make_fixtures.py` from the repo root."""
import nbformat as nbf
META = {"kernelspec": {"name": "python3", "display_name": "Python 3 (trainerlab)", "language": "python"},
        "language_info": {"name": "python"}}
def nb(cells, path):
    n = nbf.v4.new_notebook(); n.metadata = META
    out = []
    for i, (kind, src, *tags) in enumerate(cells):
        c = nbf.v4.new_markdown_cell(src) if kind == "md" else nbf.v4.new_code_cell(src)
        c["id"] = f"c{i:02d}"
        if tags: c.metadata["tags"] = tags[0]
        out.append(c)
    n.cells = out
    nbf.validate(n)
    nbf.write(n, path)
P = ("code", 'db = ""\nseed = 7\n', ["parameters"])
SETUP = ("code", "from trainerlab import reportkit as rk\nrk.setup()")
VERDICT = ("code", 'rk.verdict(["Fixture report for the runner tests.", "Nothing here is statistics.", "Nothing to do."], status="info")')
D = "tests/notebooks/"
nb([("md", "# OK fixture\n\nA tiny report that renders."), ("code", 'db = ""\nseed = 7\nn = 5  # rows\nscale = 1.5\nlabel = "demo"\nflag = True\nfail_at_end = False  # fixture switch: raise (before anything heavy runs)\n', ["parameters"]),
    ("code", 'if fail_at_end:\n    raise RuntimeError("planted failure at the end")'), SETUP, VERDICT,
    ("md", "## Numbers"),
    ("code", 'import warnings, sys\nwarnings.warn("noise that must not reach the page")\nprint("noise on stderr", file=sys.stderr)\n'
             'import pandas as pd\nframe = pd.DataFrame({"k": list(range(n)), "value": [i * scale for i in range(n)], "text": ["mail bob@example.com"] * n})\n'
             'rk.table(frame, caption=f"{label}: {n} rows", formats={"value": "float2"})'),
    ("code", 'import plotly.express as px\nfig = px.line(frame, x="k", y="value", title="Value by k")\n'
             'fig.update_layout(xaxis_title="k (index)", yaxis_title="value (units)")\nrk.figure(fig)')], D + "ok.ipynb")
nb([("md", "# Second OK fixture"), P, SETUP, VERDICT, ("code", 'import plotly.graph_objects as go\nfig = go.Figure(go.Bar(x=["a", "b"], y=[1, 2]))\n'
     'fig.update_layout(title="Bars", xaxis_title="letter", yaxis_title="count (n)")\nrk.figure(fig)')], D + "ok2.ipynb")
# The failure fixtures import nothing heavy: they fail before a verdict would matter.
nb([("md", "# Raises"), P, ("code", 'raise ValueError("planted failure in cell 2")'), ("code", 'print("never runs")')], D + "raises.ipynb")
nb([("md", "# Hangs"), ("code", 'db = ""\nseed = 7\npid_file = ""  # where the kernel writes its process id (the test checks it is gone after the timeout)\n', ["parameters"]),
    ("code", 'import os, time\nif pid_file:\n    with open(pid_file, "w") as handle:\n        handle.write(str(os.getpid()))\ntime.sleep(600)'),
    ("code", 'print("never runs")')], D + "hangs.ipynb")
nb([("md", "# Bad parameters cell"), ("code", 'db = ""\nweeks = = 3\n', ["parameters"]), SETUP, VERDICT], D + "badparams.ipynb")
nb([("md", "# Exits"), P, ("code", 'import sys\nsys.exit(0)'), ("code", 'print("never runs")')], D + "sysexit.ipynb")
nb([("md", "# No verdict"), P, ("code", 'print("a report without a verdict")')], D + "noverdict.ipynb")
nb([("md", "# Empty"), ("code", 'db = ""', ["parameters"]), SETUP, VERDICT], D + "empty.ipynb")
nb([("md", "# No db parameter"), ("code", 'seed = 7', ["parameters"]), SETUP, VERDICT], D + "nodb.ipynb")
# A cell that meets a busy warehouse: a second process takes the write lock, then the report opens the warehouse.
nb([("md", "# Busy"), P, SETUP,
    ("code", 'import subprocess, sys\nholder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); '
             'print(1, flush=True); sys.stdin.read()", db], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)\n'
             'try:\n    holder.stdout.readline()\n    rk.open_warehouse(db)\nfinally:\n    holder.stdin.close()\n    holder.wait()'),
    VERDICT], D + "busy.ipynb")
