class Table:
    def __init__(self, weights: dict[str, float], seed: int) -> None: ...
    def best_sum(
        self,
        text: str,
        unknown_unigram: float,
        unknown_bigram: float,
        window: int,
        stride: int,
        max_token: int,
        /,
    ) -> tuple[int, float]: ...
    def size(self) -> int: ...

def split_words(text: str, /) -> list[str]: ...
