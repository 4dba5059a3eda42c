"""Name pools per country and language, drawn once from Faker's locale lists and our own.

Faker's static lists are read directly (no Faker call per record: those are
slow); Korean and Chinese names come with their romanization, which Faker's
lists lack, so they are listed here.
"""

from __future__ import annotations

import importlib
import random
import unicodedata
from bisect import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from typing import Any, Generic, TypeVar

from amigo.synth.geo import words

T = TypeVar("T")

# A name: (as written locally, in Latin letters, ASCII for e-mail local parts).
Name = tuple[str, str, str]


def ascii_fold(text: str) -> str:
    """Return a lower-case ASCII rendering of a name for an e-mail local part."""
    text = text.replace("ß", "ss").replace("œ", "oe").replace("æ", "ae").replace("ø", "o")
    folded = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded if ch.isalnum() or ch == "-")


class Weighted(Generic[T]):
    """Draw items by weight with one random() and a bisect (faster than random.choices)."""

    __slots__ = ("_cum", "_items", "_total")

    def __init__(self, items: Sequence[T], weights: Sequence[float] | None = None) -> None:
        self._items = tuple(items)
        self._cum = list(accumulate(weights if weights is not None else [1.0] * len(items)))
        self._total = self._cum[-1]

    def __len__(self) -> int:
        return len(self._items)

    @property
    def items(self) -> tuple[T, ...]:
        """Return the items, in their given order."""
        return self._items

    def draw(self, rng: random.Random) -> T:
        """Return one item."""
        return self._items[bisect(self._cum, rng.random() * self._total)]


WeightedPool = Weighted[Name]


@dataclass(frozen=True, slots=True)
class NamePool:
    """First names by gender and last names of one (country, language)."""

    female: WeightedPool
    male: WeightedPool
    last: WeightedPool


def _latin(names: Iterable[str]) -> list[Name]:
    return [(n, n, ascii_fold(n)) for n in names]


def _faker_list(module: str, attribute: str) -> tuple[list[str], list[float] | None]:
    provider: Any = importlib.import_module(f"faker.providers.person.{module}").Provider
    value = getattr(provider, attribute)
    if isinstance(value, Mapping):
        return [str(k) for k in value], [float(v) for v in value.values()]
    return [str(v) for v in value], None


def _faker_pool(module: str) -> NamePool:
    parts: list[WeightedPool] = []
    for attribute in ("first_names_female", "first_names_male", "last_names"):
        names, weights = _faker_list(module, attribute)
        # Faker's lists carry initial-only entries, and compound first names that
        # would be ambiguous to split; compound last names ("van den Berg") stay.
        keep = [
            i
            for i, n in enumerate(names)
            if len(n) > 1 and (attribute == "last_names" or " " not in n)
        ]
        parts.append(
            WeightedPool(
                _latin(names[i] for i in keep),
                None if weights is None else [weights[i] for i in keep],
            )
        )
    return NamePool(female=parts[0], male=parts[1], last=parts[2])


def _paired(text: str) -> list[Name]:
    pairs = [item.split(":") for item in words(text)]
    return [(native, latin, ascii_fold(latin)) for native, latin in pairs]


_KOREAN_FEMALE = (
    "서연:Seo-yeon 서윤:Seo-yun 지우:Ji-woo 서현:Seo-hyun 민서:Min-seo 하은:Ha-eun 하윤:Ha-yun "
    "윤서:Yun-seo 지민:Ji-min 지유:Ji-yu 수아:Su-a 은지:Eun-ji 유진:Yu-jin 소연:So-yeon "
    "지현:Ji-hyun 수빈:Su-bin 예은:Ye-eun 혜진:Hye-jin 미영:Mi-young 은영:Eun-young 다은:Da-eun "
    "채원:Chae-won 수진:Su-jin 민지:Min-ji"
)
_KOREAN_MALE = (
    "민준:Min-jun 서준:Seo-jun 도윤:Do-yun 예준:Ye-jun 시우:Si-woo 주원:Ju-won 하준:Ha-jun "
    "지호:Ji-ho 지후:Ji-hu 준서:Jun-seo 현우:Hyun-woo 준호:Jun-ho 성민:Sung-min 동현:Dong-hyun "
    "재원:Jae-won 승현:Seung-hyun 태윤:Tae-yoon 민수:Min-su 정우:Jung-woo 상훈:Sang-hoon "
    "영호:Young-ho 진우:Jin-woo 우진:Woo-jin 건우:Gun-woo"
)
_KOREAN_LAST = (
    "김:Kim:21.5 이:Lee:14.7 박:Park:8.4 최:Choi:4.7 정:Jung:4.3 강:Kang:2.3 조:Cho:2.1 "
    "윤:Yoon:2.1 장:Jang:2.0 임:Lim:1.7 한:Han:1.5 오:Oh:1.5 서:Seo:1.4 신:Shin:1.4 권:Kwon:1.4 "
    "황:Hwang:1.4 안:Ahn:1.4 송:Song:1.3 류:Ryu:1.2 전:Jeon:1.1 홍:Hong:1.1 고:Ko:0.9 문:Moon:0.9 "
    "양:Yang:0.9 손:Son:0.9 배:Bae:0.8 백:Baek:0.7 허:Heo:0.6 유:Yoo:0.6 남:Nam:0.6"
)
_CHINESE_FEMALE = (
    "芳:Fang 娜:Na 敏:Min 静:Jing 丽:Li 艳:Yan 娟:Juan 霞:Xia 秀英:Xiuying 桂英:Guiying "
    "梓涵:Zihan 欣怡:Xinyi 思彤:Sitong 一诺:Yinuo 雨桐:Yutong 诗涵:Shihan 佳怡:Jiayi "
    "晓雯:Xiaowen 婷婷:Tingting 雪:Xue 琳:Lin 慧:Hui 晶:Jing 颖:Ying"
)
_CHINESE_MALE = (
    "伟:Wei 强:Qiang 磊:Lei 洋:Yang 勇:Yong 军:Jun 杰:Jie 涛:Tao 明:Ming 超:Chao "
    "浩然:Haoran 子轩:Zixuan 宇轩:Yuxuan 俊杰:Junjie 志强:Zhiqiang 建华:Jianhua 文博:Wenbo "
    "嘉豪:Jiahao 天佑:Tianyou 一鸣:Yiming 鹏:Peng 斌:Bin 浩:Hao 亮:Liang"
)
_CHINESE_LAST = (
    "王:Wang:7.2 李:Li:7.0 张:Zhang:6.7 刘:Liu:5.1 陈:Chen:4.6 杨:Yang:3.1 黄:Huang:2.5 "
    "赵:Zhao:2.3 吴:Wu:2.1 周:Zhou:2.1 徐:Xu:1.7 孙:Sun:1.5 马:Ma:1.5 朱:Zhu:1.3 胡:Hu:1.3 "
    "郭:Guo:1.2 何:He:1.2 林:Lin:1.1 高:Gao:1.1 罗:Luo:1.0 郑:Zheng:1.0 梁:Liang:0.9 "
    "谢:Xie:0.8 宋:Song:0.7 唐:Tang:0.7 许:Xu:0.7 韩:Han:0.6 冯:Feng:0.6 邓:Deng:0.6 曹:Cao:0.5"
)


def _weighted_pairs(text: str) -> WeightedPool:
    triples = [item.split(":") for item in words(text)]
    return WeightedPool(
        [(native, latin, ascii_fold(latin)) for native, latin, _ in triples],
        [float(weight) for _, _, weight in triples],
    )


def _japanese_pool() -> NamePool:
    provider: Any = importlib.import_module("faker.providers.person.ja_JP").Provider
    female = [(k, r, ascii_fold(r)) for k, _, r in provider.first_name_female_pairs]
    male = [(k, r, ascii_fold(r)) for k, _, r in provider.first_name_male_pairs]
    last_pairs: Mapping[tuple[str, str, str], float] = provider.last_name_pairs
    last = [(k, r, ascii_fold(r)) for k, _, r in last_pairs]
    return NamePool(
        female=WeightedPool(female),
        male=WeightedPool(male),
        last=WeightedPool(last, [float(w) for w in last_pairs.values()]),
    )


# (country, language) -> Faker person module; CJK pools are built separately.
_FAKER_MODULE: dict[tuple[str, str], str] = {
    ("FR", "fr"): "fr_FR",
    ("GB", "en"): "en_GB",
    ("IT", "it"): "it_IT",
    ("DE", "de"): "de_DE",
    ("US", "en"): "en_US",
    ("ES", "es"): "es_ES",
    ("BE", "fr"): "fr_FR",
    ("BE", "nl"): "nl_BE",
    ("CH", "fr"): "fr_CH",
    ("CH", "de"): "de_CH",
    ("NL", "nl"): "nl_NL",
}


@cache
def name_pool(country: str, language: str) -> NamePool:
    """Return the name pool of people of `country` speaking `language`."""
    if country == "JP":
        return _japanese_pool()
    if country == "KR":
        return NamePool(
            female=WeightedPool(_paired(_KOREAN_FEMALE)),
            male=WeightedPool(_paired(_KOREAN_MALE)),
            last=_weighted_pairs(_KOREAN_LAST),
        )
    if country == "CN":
        return NamePool(
            female=WeightedPool(_paired(_CHINESE_FEMALE)),
            male=WeightedPool(_paired(_CHINESE_MALE)),
            last=_weighted_pairs(_CHINESE_LAST),
        )
    return _faker_pool(_FAKER_MODULE.get((country, language), "en_US"))
