"""Quality of what is precomputed, against published baselines measured in the same run.

    python -m bench.quality [--split dev|heldout] [--limit N] [--workers N] [--json]

Every "ours" row is the product's own output: the documents are indexed by ``newsdesk index``'s path into a
temporary index with the configured pipeline and read back as ``newsdesk export`` prints them (see
:mod:`bench.product`).

- Summaries: ROUGE-1/2/Lsum on CNN/DailyMail (journalists' highlights; ours vs Lead-3 and a TF-IDF
  TextRank) and ROUGE-1/2 on a seeded BBC sample (ours vs Lead-k and sumy's TextRank).
- Topics: F1@5 and F1@10 on DUC-2001 (ours vs TextRank).

Tune on ``dev`` only; ``--split heldout`` is for a final check.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bench import duc, rouge_eval
from bench.product import product_settings
from bot.nlp.pipeline import load_nlp


def run(split: str = "dev", limit: int | None = None, workers: int | None = None) -> dict[str, Any]:
    """Every quality measurement; the baselines share one loaded stock pipeline."""
    settings = product_settings(workers)
    nlp = load_nlp(settings.model)
    return {
        "cnndm": rouge_eval.run_cnndm(settings, split=split, limit=limit, nlp=nlp),
        "bbc": rouge_eval.run_bbc(settings, nlp=nlp),
        "duc2001": duc.run(settings, limit=limit, nlp=nlp),
    }


def _table(result: dict[str, Any]) -> str:
    lines = []
    cnndm = result["cnndm"]
    lines.append(f"CNN/DailyMail {cnndm.get('split', '')}, {cnndm['articles']} articles, 3 sentences (ROUGE F1)")
    lines.append(f"  {'method':<22}{'R-1':>7}{'R-2':>7}{'R-Lsum':>8}")
    for name, scores in cnndm["scores"].items():
        lines.append(f"  {name:<22}{scores['rouge1']:>7.2f}{scores['rouge2']:>7.2f}{scores['rougeLsum']:>8.2f}")
    bbc = result["bbc"]
    lines.append(f"\nBBC sample, {bbc['articles']} articles, reference length up to 10 (ROUGE F1)")
    lines.append(f"  {'method':<22}{'R-1':>7}{'R-2':>7}")
    for name, scores in bbc["scores"].items():
        lines.append(f"  {name:<22}{scores['rouge1']:>7.2f}{scores['rouge2']:>7.2f}")
    keyphrases = result["duc2001"]
    lines.append(f"\nDUC-2001 keyphrases, {keyphrases['documents']} documents")
    lines.append(f"  {'method':<22}{'F1@5':>7}{'F1@10':>7}{'published F1@10':>17}")
    for name, row in keyphrases["methods"].items():
        lines.append(f"  {name:<22}{row['F1@5']:>7.2f}{row['F1@10']:>7.2f}{row['literature_F1@10']:>17.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=["dev", "heldout"], default="dev", help="CNN/DailyMail split")
    parser.add_argument("--limit", type=int, default=None, help="only the first N CNN/DM and DUC documents")
    parser.add_argument("--workers", type=int, default=None, help="analysis processes (default: the settings')")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    result = run(args.split, args.limit, args.workers)
    print(json.dumps(result) if args.json else _table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
