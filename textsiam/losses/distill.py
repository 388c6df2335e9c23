"""Embedding distillation: a student's embeddings pulled toward a teacher's, through a learned projection when their
sizes differ (tensors in, scalar out; the trainer's distillation steps look up the teacher's rows)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from textsiam.errors import DataError


class EmbeddingDistillation(nn.Module):
    """Squared error between the student's embedding (projected) and the teacher's target, both scaled to unit
    length, per text::

        L = mean over the texts of  || P s / |P s|  -  t / |t| ||^2  =  2 - 2 cos(P s, t)
                                                     (P: a linear map, student_dim -> teacher_dim)

    Both sides are unit length, so the term lies in [0, 4] whatever the size and whatever the models' norms, on the
    scale of the pair losses it is added to. Before it was (2026-12-02), a teacher that keeps ``normalize: false``
    (``mpnet-twin``, ``all-mpnet-base-v2``) started the term at 28 against a pair loss near 0.05, and a MiniLM
    student ended its epoch at 0.37 STS-B test Spearman (0.85 trained without a teacher; docs/benchmarks.md). The
    pair losses compare directions (cosine) too, so the direction is what is taught. The squared distance is summed
    over the teacher's dimensions, not averaged (an average over 768 dimensions would be ~1/768 of the pair loss).
    ``P`` exists only when the sizes differ (else the embeddings are compared as they are); it is trained with the
    student but belongs to the loss, not to the student: the saved model's embeddings are the student's own, of the
    student's size.

    Reference: the student-toward-teacher embedding MSE of Reimers & Gurevych, "Making Monolingual Sentence
    Embeddings Multilingual using Knowledge Distillation", EMNLP 2020.
    """

    def __init__(self, student_dim: int, teacher_dim: int) -> None:
        super().__init__()
        self.student_dim, self.teacher_dim = int(student_dim), int(teacher_dim)
        self.projection = nn.Linear(student_dim, teacher_dim, bias=False) if student_dim != teacher_dim else None

    @torch.no_grad()
    def fit_projection(self, student: torch.Tensor, teacher: torch.Tensor, ridge: float = 1e-3) -> None:
        """Start ``P`` at the least-squares map from the student's embeddings ``(n, student_dim)`` to the teacher's
        unit-length ones ``(n, teacher_dim)`` (ridge ``ridge`` x the mean diagonal of ``S^T S``, so a rank-deficient
        ``S`` still solves). A random ``P`` points the projected student in directions unrelated to the teacher, and
        the term then pulls the student toward a random rotation of the teacher before ``P`` has moved (at a
        fine-tuning learning rate, ``P`` hardly moves in one epoch: STS-B dev Spearman of a MiniLM student fell to
        0.71 from 0.88). Fitted, the term starts at its minimum over ``P`` and teaches only what no linear map of
        the student already matches. No-op without a projection."""
        if self.projection is None:
            return
        s, t = student.float(), F.normalize(teacher.float(), dim=1, eps=1e-12)
        gram = s.T @ s
        gram += ridge * gram.diagonal().mean().clamp(min=1e-12) * torch.eye(s.shape[1], dtype=gram.dtype)
        self.projection.weight.copy_(torch.linalg.solve(gram, s.T @ t).T)  # (teacher_dim, student_dim)

    def forward(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        """``student (n, student_dim)``, ``teacher (n, teacher_dim)`` -> the mean squared distance (a scalar)."""
        if (
            student.dim() != 2
            or student.shape[1] != self.student_dim
            or teacher.shape
            != (
                student.shape[0],
                self.teacher_dim,
            )
        ):
            raise DataError(
                f"embedding distillation takes student (n, {self.student_dim}) and teacher (n, {self.teacher_dim}); "
                f"got {tuple(student.shape)} and {tuple(teacher.shape)}"
            )
        projected = self.projection(student.float()) if self.projection is not None else student.float()
        # eps far below any real embedding's norm: only an all-zero row (no direction) meets it
        target = F.normalize(teacher.float(), dim=1, eps=1e-12)
        return ((F.normalize(projected, dim=1, eps=1e-12) - target) ** 2).sum(dim=1).mean()
