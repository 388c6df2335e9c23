"""Request and response bodies of the service (they also make its OpenAPI schema)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Pair(_Strict):
    a: StrictStr = Field(description="left text (the left tower of a pseudo-siamese model)")
    b: StrictStr = Field(description="right text (the right tower of a pseudo-siamese model)")


class PairsRequest(_Strict):
    pairs: list[Pair] = Field(description="the pairs to score, at most max_items per request")


class SimilarityResponse(BaseModel):
    scores: list[float] = Field(description="one score per pair, higher = more similar")


class MatchResult(BaseModel):
    match: bool
    score: float
    probability: float | None = Field(description="calibrated P(match); null when the model has no calibrator")


class MatchResponse(BaseModel):
    results: list[MatchResult]
    threshold: float


InputType = Literal["query", "document"]
INPUT_TYPE_HELP = (
    "query: the left tower of a pseudo-siamese model, document: the right one (a twin has one tower and ignores it); "
    "default: /v1/model's input_types.default"
)


class _Towered(BaseModel):
    """The tower choice of the embedding routes: ``input_type``, or TEI's ``prompt_name`` with the same values."""

    input_type: InputType | None = Field(None, description=INPUT_TYPE_HELP)
    prompt_name: InputType | None = Field(None, description="an alias of input_type (text-embeddings-inference)")


class EmbedRequest(_Towered, _Strict):
    texts: list[StrictStr]
    side: Literal["left", "right"] | None = Field(
        None, description="the tower to encode with (or input_type: query = left, document = right); default left"
    )


class EmbedResponse(BaseModel):
    embeddings: list[list[float]]


class SearchRequest(_Strict):
    queries: list[StrictStr]
    k: StrictInt = Field(10, ge=1, description="how many items per query, best first")


class Hit(BaseModel):
    id: str | int
    score: float


class SearchResponse(BaseModel):
    results: list[list[Hit]]


class EmbeddingsRequest(_Towered):
    """The OpenAI embeddings request; unknown extra keys are ignored, as OpenAI-compatible servers do."""

    model_config = ConfigDict(extra="ignore")
    input: str | list[str]
    model: StrictStr
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: StrictInt | None = None
    user: StrictStr | None = None

    @field_validator("input", mode="before")
    @classmethod
    def _strings_only(cls, value: Any) -> Any:
        if isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            return value
        if isinstance(value, list):  # name the first item that is not a text
            i, item = next((i, v) for i, v in enumerate(value) if not isinstance(v, str))
            raise ValueError(
                f"input[{i}] is {type(item).__name__} {item!r:.40}; input must be a string or a list of strings "
                "(token arrays are not supported)"
            )
        raise ValueError("input must be a string or a list of strings (token arrays are not supported)")


class EmbeddingItem(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class Usage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingsResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[EmbeddingItem]
    model: str
    usage: Usage


class RerankRequest(_Strict):
    """The rerank body of infinity and Cohere (``documents``, ``top_n``, ``return_documents``), or of TEI (``texts``,
    ``return_text``, ``raw_scores``, ``truncate``): exactly one of ``documents`` and ``texts``."""

    query: StrictStr
    documents: list[StrictStr | dict[str, StrictStr]] | None = Field(
        None, description="texts, or Cohere's {'text': ...} objects"
    )
    texts: list[StrictStr] | None = Field(None, description="TEI's name for the documents")
    top_n: StrictInt | None = Field(None, ge=1, description="return only the best top_n (default: all)")
    return_documents: bool = False
    return_text: bool = False  # TEI
    raw_scores: bool = False  # TEI: the logit instead of its sigmoid
    truncate: bool | None = None  # TEI: pairs are always cut to the model's max_length
    truncation_direction: Literal["right", "Right"] | None = None
    model: StrictStr | None = None  # infinity and Cohere send the model name
    max_chunks_per_doc: StrictInt | None = None  # Cohere v1, accepted and not used


class RerankResult(BaseModel):
    index: int
    relevance_score: float
    document: dict[str, str] | None = None


class RerankResponse(BaseModel):
    results: list[RerankResult]
    model: str
