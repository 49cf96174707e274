"""Unit tests of lmt's parts: python3 tests/test_lmt.py (or pytest, where installed)."""

import math
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lmt.data import IGNORE_INDEX, pack_rows, split_documents
from lmt.model import ModelConfig, TransformerLM
from lmt.schedule import lr_factor
from lmt.tokenizer import EOT, Tokenizer

TEXT = "the cat sat on the mat. the cat ate 12 rats, then sat again on the mat.\n" * 20


def test_tokenizer_round_trip_and_specials():
    tok = Tokenizer.train(TEXT, 256 + 2 + 30)
    assert 10 < len(tok.merges) <= 30
    sample = "the rat sat on 123 cats!" + EOT + " mat"
    ids = tok.encode(sample)
    assert tok.decode(ids) == sample
    assert ids.count(tok.token_id(EOT)) == 1
    assert tok.token_id(EOT) not in tok.encode(sample, allowed_special=False)


def test_pack_rows_shift_and_positions():
    rows = pack_rows([[1, 2, 3], [4, 5]], seq_len=3, eot_id=9)
    # stream 1 2 3 9 4 5 9 -> rows of 4 tokens taken 3 at a time
    assert rows["input_ids"].tolist() == [[1, 2, 3], [9, 4, 5]]
    assert rows["labels"].tolist() == [[2, 3, 9], [4, 5, 9]]
    assert rows["doc_ids"].tolist() == [[0, 0, 0], [0, 1, 1]]
    assert rows["position_ids"].tolist() == [[0, 1, 2], [0, 0, 1]]
    assert IGNORE_INDEX < 0


def test_split_is_a_partition_with_duplicates_together():
    texts = [f"doc {i % 7}" for i in range(20)]
    train, val = split_documents(texts, 0.3, seed=5)
    assert sorted(train + val) == list(range(20))
    assert not {texts[i] for i in train} & {texts[i] for i in val}


def test_model_is_causal():
    torch.manual_seed(0)
    model = TransformerLM(ModelConfig(vocab_size=40, d_model=16, n_layer=2, n_head=2, max_len=8))
    x = torch.randint(0, 40, (1, 8))
    y = x.clone()
    y[0, 5:] = (y[0, 5:] + 1) % 40
    assert torch.allclose(model(x)[0, :5], model(y)[0, :5], atol=1e-6)


def test_schedule_warms_up_then_decays_to_the_floor():
    assert lr_factor(0, 4, 20, 0.1) == 0.25
    assert lr_factor(3, 4, 20, 0.1) == 1.0
    assert math.isclose(lr_factor(20, 4, 20, 0.1), 0.1)


if __name__ == "__main__":
    tests = [f for name, f in sorted(globals().items()) if name.startswith("test_")]
    for test in tests:
        test()
        print("ok", test.__name__)
    print(f"{len(tests)} passed")
