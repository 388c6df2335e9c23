import torch

from textsiam.models import create_model, load_model


def test_roundtrip(tiny_bert_dir, tmp_path):
    m = create_model(str(tiny_bert_dir))
    s1 = m.similarity_scores(["a man plays guitar", "a dog runs"], ["a woman plays piano", "the cat eats"])
    m.save(tmp_path / "m")
    m2 = load_model(tmp_path / "m")
    s2 = m2.similarity_scores(["a man plays guitar", "a dog runs"], ["a woman plays piano", "the cat eats"])
    assert torch.allclose(torch.tensor(s1), torch.tensor(s2), atol=1e-6)
