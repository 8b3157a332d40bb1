"""The ``onegrid`` command.

    onegrid synth --profile NAME [--scale F] [--seed N] [--out DIR]
    onegrid run [--no-generate] [--profile tiny] [--seed N]
    onegrid score
    onegrid ui [--port 3000]

Every command honours ONEGRID_LANDING_DIR and ONEGRID_DATA_DIR.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from pipelines import config


def _cmd_synth(args) -> int:
    from pipelines.synth import generate

    out = Path(args.out).resolve() if args.out else config.landing_dir()
    try:
        truth = generate(args.profile, out, scale=args.scale, seed=args.seed,
                         progress=not args.quiet)
    except (FileExistsError, ValueError) as exc:
        print(f"onegrid synth: {exc}", file=sys.stderr)
        return 2
    print(f"deliveries written under {out}")
    print(f"ground truth written under {truth}")
    return 0


def _cmd_run(args) -> int:
    from pipelines.orchestrate import print_summary, run_all

    summary = run_all(generate_if_empty=not args.no_generate, profile=args.profile, seed=args.seed)
    print_summary(summary)
    return summary.exit_code


def _cmd_score(args) -> int:
    from pipelines.orchestrate import prepare_environment

    prepare_environment()
    from pipelines.scoring import score

    score(config.landing_dir(), config.data_dir(), print_table=True)
    return 0


def _cmd_ui(args) -> int:
    from pipelines.orchestrate import prepare_environment

    prepare_environment()
    cmd = ["dagster", "dev", "-w", str(config.PROJECT_ROOT / "workspace.yaml"),
           "-h", args.host, "-p", str(args.port)]
    print(f"Dagster UI on http://{args.host}:{args.port}  (DAGSTER_HOME={os.environ['DAGSTER_HOME']})")
    return subprocess.call(cmd, cwd=config.PROJECT_ROOT)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="onegrid", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synth", help="generate a synthetic city's deliveries into a landing root")
    p.add_argument("--profile", required=True, help="tiny, qianxinan or jingdezhen")
    p.add_argument("--scale", type=float, default=1.0, help="multiply population and housing")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="landing root (default: ONEGRID_LANDING_DIR, else data/landing)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser("run", help="ingest every delivery, build, check and publish a snapshot")
    p.add_argument("--no-generate", action="store_true",
                   help="fail instead of generating the sample city when landing is empty")
    p.add_argument("--profile", default="tiny", help="profile generated when landing is empty")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("score", help="score the built warehouse against the synthetic ground truth")
    p.set_defaults(func=_cmd_score)

    p = sub.add_parser("ui", help="open the Dagster UI on this project")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(func=_cmd_ui)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
