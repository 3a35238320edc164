"""Generated English-like corpora of any size, reproducible from a seed, with known duplicates and junk.

Document ``i`` depends only on ``(seed, i)``. Every 10th document is a near duplicate of an earlier one (a few
words changed), every 25th an exact copy, every 20th digit-table junk the filter drops; the rest is prose made
of common English words (most of it passes the default rules), ``words`` words long, one line, or paragraphs of
``paragraph`` sentences separated by newlines.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

# Common English words: stopwords and content words, enough for fastText to say "en" and for stopword ratios.
WORDS = """the of and to in is was that for it with as his on be at by had are but from or have an they which
one you were her all she there would their we him been has when who will more no if out so said what up its
about into than them can only other new some could time these two may then do first any my now such like our
over man me even most made after also did many before must through back years where much your way well down
should because each just those people how too little state good very make world still own see men work long get
here between both life being under never day same another know while last might us great old year off come since
against go came right used take three states himself few house use during without again place around however home
small found thought went say part once general high upon school every does got united left number course war until
always away something fact though water less public put think almost hand enough far took head yet government
system better set told nothing night end why called didn't eyes find going look asked later knew point river
garden village market winter summer morning evening letter story music bridge station harbour valley mountain
kitchen window table paper engine window doctor teacher farmer painter student library museum forest island""".split()


def document(seed: int, i: int, words: int = 120, paragraph: int = 0) -> dict:
    """The ``i``-th document of the corpus ``seed`` (id ``doc-<i>``); ``paragraph`` > 0: a newline after every
    ``paragraph`` sentences."""
    rng = random.Random(seed * 1_000_003 + i)
    if i % 20 == 19:
        text = "\n".join(" ".join(str(rng.randrange(10**6)) for _ in range(8)) for _ in range(20))
    elif i % 25 == 24:
        text = document(seed, i - 24 + 3, words, paragraph)["text"]  # an exact copy of an earlier prose document
    elif i % 10 == 9:
        tokens = document(seed, i - 9 + 2, words, paragraph)["text"].split(" ")
        for pos in rng.sample(range(len(tokens)), 3):
            tokens[pos] = rng.choice(WORDS)
        text = " ".join(tokens)
    else:
        sentences, left = [], words
        while left > 0:
            n = min(left, rng.randint(8, 18))
            sentences.append(" ".join(rng.choices(WORDS, k=n)).capitalize() + ".")
            left -= n
        text = "".join(s + ("\n" if paragraph and k % paragraph == paragraph - 1 else " ")
                       for k, s in enumerate(sentences)).strip()
    return {"id": f"doc-{i:07d}", "text": text, "source": "generated"}


def write_corpus(folder: Path, n: int, seed: int = 0, files: int = 4, words: int = 120, paragraph: int = 0) -> Path:
    """``n`` documents as JSON Lines split over ``files`` files in ``folder``; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    handles = [open(folder / f"part-{f:03d}.jsonl", "w") for f in range(files)]
    try:
        for i in range(n):
            handles[i % files].write(json.dumps(document(seed, i, words, paragraph)) + "\n")
    finally:
        for h in handles:
            h.close()
    return folder
