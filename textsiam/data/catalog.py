"""The dataset catalogue: every dataset textsiam reads or benchmarks, registered in ``textsiam.registry.CATALOG``.

Each entry says where the dataset comes from, its licence as published, the files textsiam's reader expects, the
``--format``/``--split`` that read them, and how to obtain them: a Hugging Face ``datasets`` id plus a converter
(:mod:`textsiam.data.convert`) where one exists, by hand otherwise. ``textsiam data list`` prints it;
``textsiam data get NAME --to DIR`` fetches and converts (:mod:`textsiam.data.fetch`). ``data/README.md`` is the
same catalogue for readers of the repository. Nothing here is downloaded by importing it.
"""

from __future__ import annotations

from dataclasses import dataclass

from textsiam.data.convert import Converter, convert_mnist, convert_mrpc, convert_sick, convert_stsb
from textsiam.registry import CATALOG


@dataclass(frozen=True)
class Catalogued:
    """One dataset: ``format`` is a READERS name (or a DATASETS name for an embedded set), ``layout`` the files the
    reader expects in the dataset folder, ``read`` the flags that read them, ``manual`` how to get them by hand."""

    title: str
    origin: str
    licence: str
    format: str
    layout: str
    read: str
    manual: str
    hub: str | None = None
    config: str | None = None
    convert: Converter | None = None
    embedded: bool = False

    @property
    def source(self) -> str:
        """Where ``data get`` takes it from: the hub id (and config), ``manual`` or ``embedded``."""
        if self.embedded:
            return "embedded"
        if self.hub is None:
            return "manual"
        return f"{self.hub} ({self.config})" if self.config else self.hub


def _add(name: str, entry: Catalogued) -> None:
    CATALOG.register(name, entry, description=entry.title)


_add(
    "stsb",
    Catalogued(
        title="STS Benchmark: 8,628 English sentence pairs with a graded 0..5 similarity (Cer et al. 2017)",
        origin="SemEval-2017 Task 1 release stsbenchmark.tar.gz, http://ixa2.si.ehu.eus/stswiki",
        licence=(
            "release LICENSE.txt: gold scores CC BY-SA 4.0; sentences under the terms of their sources (MSRpar and "
            "MSRvid: Microsoft Research licence; headlines: attribute Europe Media Monitor; image captions and "
            "track5 (SNLI): CC BY-SA; answers-forums and answer-answer (Stack Exchange): CC BY-SA 3.0 with attribution)"
        ),
        format="stsb",
        layout="sts-train.csv, sts-dev.csv, sts-test.csv (tab-separated, no header, score in field 5)",
        read="--format stsb (detected from sts-*.csv), one file per split",
        manual="download stsbenchmark.tar.gz from http://ixa2.si.ehu.eus/stswiki and put its sts-*.csv files in DIR",
        hub="mteb/stsbenchmark-sts",
        convert=convert_stsb,
    ),
)
_add(
    "mrpc",
    Catalogued(
        title="MRPC: 5,801 news sentence pairs, paraphrase yes/no (Microsoft Research, Dolan & Brockett 2005)",
        origin="Microsoft Research, https://www.microsoft.com/en-us/download/details.aspx?id=52398",
        licence=(
            "Microsoft Research licence terms for the corpus (research use; users accept them on download); "
            "not an open licence"
        ),
        format="mrpc",
        layout=(
            "msr_paraphrase_train.txt, msr_paraphrase_test.txt (tab-separated, header Quality #1 ID #2 ID "
            "#1 String #2 String); from the hub also msr_paraphrase_dev.txt (GLUE's 408 dev pairs, out of train)"
        ),
        read="--format mrpc (detected from msr_paraphrase_*.txt), one file per split",
        manual=(
            "download the MSR Paraphrase Corpus installer from Microsoft (id 52398), accept its licence and put "
            "msr_paraphrase_train.txt and msr_paraphrase_test.txt in DIR"
        ),
        hub="nyu-mll/glue",
        config="mrpc",
        convert=convert_mrpc,
    ),
)
_add(
    "sick",
    Catalogued(
        title="SICK: 9,927 sentence pairs with a graded 1..5 relatedness score (Marelli et al. 2014)",
        origin="SICK (Sentences Involving Compositional Knowledge), https://marcobaroni.org/composes/sick.html",
        licence="Creative Commons Attribution-NonCommercial-ShareAlike 3.0 (CC BY-NC-SA 3.0)",
        format="tsv",
        layout="sick_SPLIT.tsv with the header sentence1, sentence2, score (mteb/sickr-sts has one split, test)",
        read="--format tsv (detected from .tsv) --label-range 1 5",
        manual=(
            "download SICK.zip from https://marcobaroni.org/composes/sick.html, and write sentence_A, sentence_B, "
            "relatedness_score as DIR/sick_SPLIT.tsv with the header sentence1, sentence2, score"
        ),
        hub="mteb/sickr-sts",
        convert=convert_sick,
    ),
)
_add(
    "fnc1",
    Catalogued(
        title="FNC-1: 49,972 headline/article pairs with a 4-way stance (Fake News Challenge stage 1)",
        origin="https://github.com/FakeNewsChallenge/fnc-1 (derived from Emergent, Ferreira & Vlachos 2016)",
        licence="none stated in the repository; cite the FNC-1 organisers and Ferreira & Vlachos 2016",
        format="fnc1",
        layout="train_stances.csv + train_bodies.csv (competition_test_* the same), comma-separated with quoting",
        read="--format fnc1 (detected from *_stances.csv; the *_bodies.csv beside it, or --bodies FILE)",
        manual=(
            "no Hugging Face copy: download train_stances.csv, train_bodies.csv (and competition_test_*.csv) from "
            "https://github.com/FakeNewsChallenge/fnc-1 into DIR"
        ),
    ),
)
_add(
    "mnist",
    Catalogued(
        title="MNIST: 70,000 handwritten digits, 28x28, read as same/different-digit image pairs (LeCun et al.)",
        origin="http://yann.lecun.com/exdb/mnist/ (Yann LeCun, Corinna Cortes, Christopher Burges)",
        licence=(
            "copyright Yann LeCun and Corinna Cortes; the original page states no licence, it is commonly given as "
            "CC BY-SA 3.0"
        ),
        format="mnist",
        layout=(
            "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
            "t10k-labels-idx1-ubyte.gz"
        ),
        read="--format mnist (detected from a folder named mnist*) --split train|test",
        manual="download the four *-ubyte.gz files from http://yann.lecun.com/exdb/mnist/ (or a mirror) into DIR",
        hub="ylecun/mnist",
        config="mnist",
        convert=convert_mnist,
    ),
)
_add(
    "coco",
    Catalogued(
        title="COCO captions: photos with 5 human captions each, read as (image, caption) pairs (Lin et al. 2014)",
        origin="https://cocodataset.org (2017 train/val images and captions_*.json annotations)",
        licence=(
            "annotations CC BY 4.0 (COCO Consortium terms of use); each image keeps its Flickr licence (the "
            "license field of the JSON; many are NonCommercial or NoDerivs)"
        ),
        format="coco",
        layout="annotations/captions_val2017.json (and captions_train2017.json) + val2017/*.jpg (train2017/*.jpg)",
        read="--format coco (detected from a folder named coco*) --split val2017|train2017",
        manual=(
            "download annotations_trainval2017.zip and val2017.zip (or train2017.zip) from https://cocodataset.org "
            "and unzip them into DIR (DIR/annotations, DIR/val2017)"
        ),
    ),
)
_add(
    "flickr8k",
    Catalogued(
        title="Flickr8k: 8,091 Flickr photos, 5 captions each, official 6,000/1,000/1,000 split (Hodosh et al. 2013)",
        origin=(
            "University of Illinois, https://hockenmaier.cs.illinois.edu/8k-pictures.html; the images at 224x224 "
            "are also in GitHub RlNZLER/Image-Text-Matching (data/images/ at commit 56a15d9), the captions and split "
            "lists in Sadika1212/Image-Caption-Generator (commit e45272a)"
        ),
        licence=(
            "research use only (the Illinois terms); the photos belong to their Flickr owners; not for "
            "redistribution: never commit or ship a copy"
        ),
        format="flickr8k",
        layout=(
            "images/NAME.jpg, Flickr8k.token.txt (NAME.jpg#k<TAB>caption), Flickr_8k.trainImages.txt, "
            "Flickr_8k.devImages.txt, Flickr_8k.testImages.txt (one image name per line)"
        ),
        read=(
            "--format flickr8k --split train|dev|test (detected from a folder named flickr8k*), or a split list "
            "file as the path (DIR/Flickr_8k.devImages.txt is the dev split)"
        ),
        manual=(
            "request Flickr8k from the University of Illinois form (research use), or take the two GitHub "
            "repositories above at those commits: images/ from the first (git archive 56a15d9 data/images), the "
            "token file and the three split lists from the second; put them in DIR (a folder outside your project)"
        ),
    ),
)
_add(
    "digits",
    Catalogued(
        title="digits: 1,797 8x8 handwritten digits bundled with scikit-learn, as same/different pairs (no download)",
        origin="scikit-learn's load_digits: the test part of UCI Optical Recognition of Handwritten Digits",
        licence="UCI Machine Learning Repository: CC BY 4.0; scikit-learn ships it under its BSD-3-Clause licence",
        format="digits",
        layout="none: embedded in textsiam (through scikit-learn)",
        read="--data digits:train (or digits:dev, digits:test)",
        manual="nothing to download: pass --data digits:train / digits:dev / digits:test",
        embedded=True,
    ),
)
