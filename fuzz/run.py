"""Run one atheris (libFuzzer) campaign: ``fuzz/run.py TARGET [libFuzzer flags] [CORPUS_DIR...]``.

Without a corpus folder the target's seeds (shared corpus files of its container plus small
generated ones) are copied into a fresh temp folder, which is removed afterwards; nothing is
written into the repository. Crash reproducers go where ``-artifact_prefix=`` says (default: a
temp folder, printed). Targets: see ``fuzz/targets.py`` or ``fuzz/run.py --list``.

Examples:
  .venv/bin/python fuzz/run.py parse_jpeg -runs=100000
  .venv/bin/python fuzz/run.py strip_isobmff -max_total_time=60 -rss_limit_mb=1024
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import targets  # noqa: E402


def main() -> None:
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help", "--list"):
        print(__doc__)
        print("targets:", " ".join(sorted(targets.SEEDS)))
        sys.exit(0 if args else 2)
    name, flags = args[0], args[1:]
    corpus_dirs = [a for a in flags if not a.startswith("-")]
    if not corpus_dirs:
        # libFuzzer leaves through exit(), past any cleanup: run in a child, clean up here
        made = targets.seed_corpus(name)
        crashes = tempfile.mkdtemp(prefix=f"gp-fuzz-crash-{name}-")
        scratch = tempfile.mkdtemp(prefix="gp-fuzz-scratch-", dir=targets.scratch_root())
        extra = [] if any(f.startswith("-artifact_prefix=") for f in flags) \
            else [f"-artifact_prefix={crashes}/"]
        try:
            code = subprocess.call([sys.executable, os.path.abspath(__file__), name, *flags,
                                    *extra, made], env={**os.environ, "GP_FUZZ_SCRATCH": scratch})
        finally:
            shutil.rmtree(made, ignore_errors=True)
            shutil.rmtree(scratch, ignore_errors=True)
            if not os.listdir(crashes):
                os.rmdir(crashes)
            else:
                print(f"crash reproducers in {crashes}", file=sys.stderr)
        sys.exit(code)
    flags = [a for a in flags if a.startswith("-")]
    max_len = targets.MAX_LEN.get(name, targets.MAX_SEED_BYTES)
    defaults = {"-max_len=": f"-max_len={max_len}",
                "-rss_limit_mb=": "-rss_limit_mb=2048", "-timeout=": "-timeout=10"}
    for prefix, flag in defaults.items():
        if not any(f.startswith(prefix) for f in flags):
            flags.append(flag)
    import atheris

    # parsers and writers are imported lazily by make(), inside the block, so they are covered
    with atheris.instrument_imports(include=["geoprivacy"]):
        import geoprivacy.attacks.metadata  # noqa: F401
        import geoprivacy.defenses.strip.engine  # noqa: F401
        target = targets.make(name)
    atheris.Setup([sys.argv[0], *flags, *corpus_dirs], target)
    atheris.Fuzz()

if __name__ == "__main__":
    main()
