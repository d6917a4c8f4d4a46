"""Checks an executed notebook: no error outputs, no panics, and every text that a code cell's
`weft_expect` metadata lists appears in that cell's output.

A panic inside a cell does not fail `jupyter nbconvert --execute` (it only prints a backtrace),
hence this check. Usage: python check.py executed.ipynb
"""
import json
import sys


def cell_text(cell):
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append("".join(out.get("text", "")))
        elif out.get("output_type") in ("execute_result", "display_data"):
            parts.append("".join(out.get("data", {}).get("text/plain", "")))
        elif out.get("output_type") == "error":
            parts.append("ERROR %s: %s" % (out.get("ename"), out.get("evalue")))
    return "".join(parts)


def main(path):
    nb = json.load(open(path))
    problems = []
    checked = 0
    for number, cell in enumerate(nb["cells"], start=1):
        if cell["cell_type"] != "code":
            continue
        text = cell_text(cell)
        source = cell["source"]
        if isinstance(source, list):
            source = "".join(source)
        first = source.splitlines()[0] if source else ""
        where = "cell %d (%s)" % (number, first.strip())
        if "panicked at" in text or "ERROR " in text or any(
            o.get("output_type") == "error" for o in cell.get("outputs", [])
        ):
            problems.append("%s failed:\n%s" % (where, text))
            continue
        for expected in cell.get("metadata", {}).get("weft_expect", []):
            checked += 1
            if expected not in text:
                problems.append(
                    "%s: expected %r in its output, got:\n%s" % (where, expected, text)
                )
    if problems:
        print("notebook check FAILED:\n" + "\n\n".join(problems))
        return 1
    print("notebook check: %d expected outputs found, no errors or panics" % checked)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
