#!/usr/bin/env python3
"""Writes gitops-ml(1) in roff to standard output from the argument parser's own description of every
command (`gitops-ml --experimental-dump-help`), so the man page cannot drift from `--help`."""
import json
import subprocess
import sys

binary = sys.argv[1] if len(sys.argv) > 1 else "gitops-ml"
tree = json.loads(subprocess.run([binary, "--experimental-dump-help"], check=True, capture_output=True,
                                 text=True).stdout)["command"]
version = subprocess.run([binary, "--version"], check=True, capture_output=True, text=True).stdout.strip()


def escape(text):
    return (text or "").replace("\\", "\\\\").replace("-", "\\-").replace("\n.", "\n\\&.").replace("\n'", "\n\\&'")


def flag(argument):
    names = []
    for name in argument.get("names", []):
        names.append(("-" if name["kind"] == "short" else "--") + name["name"])
    text = ", ".join(names) if names else "<" + argument.get("valueName", "value") + ">"
    if argument["kind"] == "option":
        text += " <" + argument.get("valueName", "value") + ">"
    return text


lines = [f'.TH GITOPS\\-ML 1 "" "{escape(version)}" "User Commands"', ".SH NAME",
         f"gitops\\-ml \\- {escape(tree.get('abstract'))}", ".SH SYNOPSIS", ".B gitops\\-ml",
         "\\fICOMMAND\\fR [\\fIOPTIONS\\fR]", ".SH DESCRIPTION", escape(tree.get("discussion"))]


def command(node, path):
    for sub in node.get("subcommands", []):
        if not sub.get("shouldDisplay", True) or sub["commandName"] == "help":
            continue
        full = path + [sub["commandName"]]
        lines.append(".SS " + escape(" ".join(full)))
        lines.append(escape(sub.get("abstract")))
        if sub.get("discussion"):
            lines.extend([".PP", escape(sub["discussion"])])
        for argument in sub.get("arguments", []):
            if not argument.get("shouldDisplay", True):
                continue
            lines.extend([".TP", "\\fB" + escape(flag(argument)) + "\\fR", escape(argument.get("abstract"))])
        command(sub, full)


lines.append(".SH COMMANDS")
command(tree, ["gitops-ml"])
lines += [".SH EXIT STATUS", "0 all passed; 1 a check, gate, tolerance or policy failed; 2 usage or "
          "configuration error; 3 environment error (git object missing, network, I/O).",
          ".SH SEE ALSO", "git(1), dvc(1). The documentation: https://github.com/gitops-ml/gitops-ml/tree/main/docs"]
print("\n".join(lines))
