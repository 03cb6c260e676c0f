#!/usr/bin/env python3
"""Run a directory of harness bundles with nyx-runtime and say which results to trust.

    orchestrate.py [-j N] [--timeout S] [--runtime PATH] [--root DIR] [--reports DIR]
                   [--json FILE] BUNDLES_DIR

Every subdirectory of BUNDLES_DIR holding a config.json is one harness. At most N run at once
(`nyx-runtime run --timeout S --report FILE`), a progress line shows what is done and running,
and each run's report (the final state: exit status and the hardening record) is kept in
--reports. The summary table gives per harness its exit code, the hardening level, the
primitives that failed with their causes, and the wall time. A harness whose config the runtime
refuses has no report: its row says so with the runtime's error.

Exit status: 0 when every harness ran, exited 0 and reached level full or baseline; 1 otherwise.
Only the Python standard library is used.
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time


def find_bundles(top):
    out = []
    for name in sorted(os.listdir(top)):
        path = os.path.join(top, name)
        if os.path.isfile(os.path.join(path, "config.json")):
            out.append((name, path))
    return out


class Progress:
    """One line, rewritten in place on a terminal; one line per finished harness otherwise."""

    def __init__(self, total):
        self.total, self.done, self.running = total, 0, set()
        self.lock = threading.Lock()
        self.tty = sys.stderr.isatty()

    def _line(self, last):
        running = ", ".join(sorted(self.running)) or "-"
        return f"[{self.done}/{self.total}] running: {running}; last: {last}"

    def started(self, name):
        with self.lock:
            self.running.add(name)
            if self.tty:
                sys.stderr.write("\r\033[K" + self._line("-"))
                sys.stderr.flush()

    def finished(self, name, what):
        with self.lock:
            self.running.discard(name)
            self.done += 1
            line = self._line(f"{name} {what}")
            sys.stderr.write(("\r\033[K" + line) if self.tty else line + "\n")
            sys.stderr.flush()

    def close(self):
        if self.tty:
            sys.stderr.write("\n")


def run_one(args, name, bundle, progress):
    """Runs one harness; returns its summary row."""
    progress.started(name)
    report = os.path.join(args.reports, name + ".json")
    try:
        os.unlink(report)
    except FileNotFoundError:
        pass
    cid = f"orch-{name}-{os.getpid()}"
    cmd = [args.runtime, "--root", args.root, "run", "--timeout", str(args.timeout),
           "--report", report, "--bundle", bundle, cid]
    t0 = time.monotonic()
    try:
        # The runtime enforces the timeout (exit 124, the whole container killed); the grace
        # here only guards against the runtime itself hanging.
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=args.timeout + 30)
        code, err = p.returncode, p.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired:
        subprocess.run([args.runtime, "--root", args.root, "delete", "--force", cid],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        code, err = 124, "the runtime did not return; container deleted"
    wall = time.monotonic() - t0
    row = {"harness": name, "exit": code, "wall": round(wall, 3), "level": None,
           "failed": [], "report": None, "error": None}
    if os.path.exists(report):
        with open(report) as f:
            state = json.load(f)
        row["report"] = report
        h = state.get("hardening", {})
        row["level"] = h.get("level")
        row["timedOut"] = (state.get("exit") or {}).get("timedOut", False)
        for prim, e in h.get("primitives", {}).items():
            if e.get("status") == "failed":
                cause = e.get("cause") or {}
                row["failed"].append({"primitive": prim, "error": e.get("error"),
                                      "cause": cause.get("code"),
                                      "message": cause.get("message")})
    else:
        lines = [ln for ln in err.splitlines() if ln.strip()]
        row["error"] = lines[-1] if lines else f"exit {code}, no report"
    what = "refused" if row["error"] else f"exit {code}"
    progress.finished(name, f"{what} ({wall:.2f} s)")
    return row


def trusted(row):
    return row["error"] is None and row["exit"] == 0 and row["level"] in ("full", "baseline")


def table(rows):
    head = ["HARNESS", "EXIT", "LEVEL", "FAILED PRIMITIVES (CAUSE)", "WALL"]
    body = []
    for r in rows:
        if r["error"]:
            failed = "refused: " + r["error"]
        else:
            failed = ", ".join(f"{f['primitive']} ({f['cause'] or f['error']})"
                               for f in r["failed"]) or "-"
        exit_text = str(r["exit"]) + (" timeout" if r.get("timedOut") else "")
        body.append([r["harness"], exit_text, r["level"] or "-", failed, f"{r['wall']:.2f} s"])
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    out = []
    for line in [head] + body:
        out.append("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip())
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundles", help="directory of bundles (subdirectories with config.json)")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2,
                    help="harnesses running at once")
    ap.add_argument("--timeout", type=float, default=60, help="seconds per harness")
    ap.add_argument("--runtime", default=shutil.which("nyx-runtime") or "nyx-runtime")
    ap.add_argument("--root", default=None, help="nyx-runtime --root (default: a private one)")
    ap.add_argument("--reports", default="reports", help="where each harness's report goes")
    ap.add_argument("--json", default=None, help="also write the summary as JSON here")
    args = ap.parse_args()
    if args.jobs < 1:
        ap.error("--jobs must be at least 1")
    bundles = find_bundles(args.bundles)
    if not bundles:
        ap.error(f"no bundle (a directory with config.json) in {args.bundles}")
    os.makedirs(args.reports, exist_ok=True)
    private_root = args.root is None
    if private_root:
        args.root = tempfile.mkdtemp(prefix="nyx-orchestrate.")
    progress = Progress(len(bundles))
    t0 = time.monotonic()
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            rows = list(pool.map(lambda b: run_one(args, b[0], b[1], progress), bundles))
    finally:
        progress.close()
        if private_root:
            shutil.rmtree(args.root, ignore_errors=True)
    print(table(rows))
    ok = sum(1 for r in rows if trusted(r))
    print(f"\n{len(rows)} harnesses in {time.monotonic() - t0:.1f} s: {ok} trusted "
          f"(exit 0, level full or baseline), {len(rows) - ok} not")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"harnesses": rows, "jobs": args.jobs, "timeout": args.timeout}, f, indent=2)
    return 0 if ok == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
