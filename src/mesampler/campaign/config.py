"""Campaign configuration: models × methods × datasets × settings, read from TOML (see ``examples/*.toml``).

Every key has a command-line flag (``mesampler campaign run --help``); flags override the file.
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mesampler.api import TARGETED, UNTARGETED
from mesampler.campaign.executors import EXECUTORS

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

MOTION_KINDS = ("mv", "flow", "clip", "testbed")
"""``mv``/``flow``: maps of the source file over the clip's window; ``clip``: motion vectors of the sampled clip
itself; ``testbed``: the test-bed's ground-truth maps."""


@dataclass(frozen=True)
class ModelConfig:
    """A model: ``ref`` is a registered name, a TorchScript/ONNX file or an HTTP URL (``load_model``).

    ``frames``/``size`` set the clip (default: the model's spec; else all frames, native size); ``crop``: a
    centre crop of the resized frames (``size`` is then the short side, e.g. 256 and 224 as I3D is evaluated;
    default: ``size``); ``options`` go to the model's constructor (``device``, ``batch_size``, ``clips``, ...).
    """

    name: str
    ref: str = ""
    frames: int | None = None
    size: int | None = None
    crop: int | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.ref:
            object.__setattr__(self, "ref", self.name)
        if self.crop is not None and (not _is_int(self.crop) or self.crop < 1):
            raise ValueError(f"model {self.name!r}: crop must be an integer >= 1, got {self.crop!r}")
        if self.crop is not None and self.size is not None and self.crop > self.size:
            raise ValueError(f"model {self.name!r}: crop {self.crop} exceeds the short side size {self.size}")


@dataclass(frozen=True)
class DatasetConfig:
    """A dataset: ``kind`` of :data:`mesampler.datasets.DATASET_KINDS`, its ``root`` and loader ``options``;
    ``mapping``: class-mapping file, or ``"index"`` (see :func:`mesampler.datasets.map_classes`)."""

    name: str
    kind: str = ""
    root: str | None = None
    mapping: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.kind:
            object.__setattr__(self, "kind", self.name)


@dataclass(frozen=True)
class MethodConfig:
    """An attack: ``method`` (registry name, default ``name``), ``loss`` (default: the method's), ``motion``
    (one of :data:`MOTION_KINDS`, for methods that use motion), hyper-parameters ``params`` and ``settings``,
    the names of the campaign's settings it runs under (``None``: all of them); ``max_queries`` caps the
    setting's budget for this method (e.g. the random-noise floor at 200)."""

    name: str
    method: str = ""
    loss: str | None = None
    motion: str = "mv"
    params: dict[str, Any] = field(default_factory=dict)
    settings: tuple[str, ...] | None = None
    max_queries: int | None = None

    def budget(self, setting: SettingConfig) -> int:
        """This method's budget under ``setting``: the setting's, capped by :attr:`max_queries`."""
        return setting.max_queries if self.max_queries is None else min(self.max_queries, setting.max_queries)

    def __post_init__(self) -> None:
        if not self.method:
            object.__setattr__(self, "method", self.name)
        if self.settings is not None:
            if isinstance(self.settings, str) or not all(isinstance(x, str) for x in self.settings):
                raise ValueError(
                    f"method {self.name!r}: settings must be a list of setting names, got {self.settings!r}"
                )
            object.__setattr__(self, "settings", tuple(self.settings))
        if self.motion not in MOTION_KINDS:
            raise ValueError(f"method {self.name!r}: motion must be one of {MOTION_KINDS}, got {self.motion!r}")
        if self.max_queries is not None and (not _is_int(self.max_queries) or self.max_queries < 3):
            raise ValueError(f"method {self.name!r}: max_queries must be an integer >= 3, got {self.max_queries!r}")


@dataclass(frozen=True)
class SettingConfig:
    """A threat setting: the paper's ``untargeted`` (eps 0.03, 60,000) or ``targeted`` (eps 0.05, 200,000).

    ``output``: what the attacker sees, as :class:`~mesampler.models.adapters.APIOutput` keywords (e.g.
    ``{top_k = 5, decimals = 4}``, a deployed API; ``{probabilities = false, step = 1.0}``, logits on a coarse
    grid); ``None``: the model's own scores. ``clean_in_budget``: the attack's clean-label query counts against
    ``max_queries`` (as ``mesampler.attack`` counts it; by default it is outside, see the protocol).
    ``max_videos``: attack only the first ``max_videos`` selected videos under this setting.
    """

    name: str
    targeted: bool = False
    eps: float = UNTARGETED.eps
    max_queries: int = UNTARGETED.max_queries
    output: dict[str, Any] | None = None
    clean_in_budget: bool = False
    max_videos: int | None = None

    def __post_init__(self) -> None:
        if not 0 < self.eps <= 1:
            raise ValueError(f"setting {self.name!r}: eps must be in (0, 1], got {self.eps}")
        if int(self.max_queries) < 3:
            raise ValueError(f"setting {self.name!r}: max_queries must be >= 3, got {self.max_queries}")
        if self.max_videos is not None and (not _is_int(self.max_videos) or self.max_videos < 1):
            raise ValueError(f"setting {self.name!r}: max_videos must be an integer >= 1, got {self.max_videos!r}")
        if not isinstance(self.clean_in_budget, bool):
            raise ValueError(f"setting {self.name!r}: clean_in_budget must be true or false")
        if self.output is not None:
            from mesampler.models.adapters import APIOutput

            if not isinstance(self.output, dict):
                raise ValueError(f"setting {self.name!r}: output must be a table of APIOutput options")
            try:
                APIOutput(lambda x: x, **self.output)
            except TypeError as e:
                raise ValueError(f"setting {self.name!r}: output {self.output!r}: {e}") from None
            except ValueError as e:
                raise ValueError(f"setting {self.name!r}: output: {e}") from None


SELECTIONS = ("per-class", "in-order")
"""How a campaign chooses its videos (:class:`CampaignConfig`)."""
ORDERS = ("method", "video")
"""In which order a campaign runs its chunks (:class:`CampaignConfig`)."""


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


PAPER_SETTINGS = {
    "untargeted": SettingConfig("untargeted", False, UNTARGETED.eps, UNTARGETED.max_queries),
    "targeted": SettingConfig("targeted", True, TARGETED.eps, TARGETED.max_queries),
}


@dataclass(frozen=True)
class CampaignConfig:
    """The whole campaign. ``selection``: ``"per-class"`` (the paper's: ``videos_per_class`` correctly
    classified videos per class, paper 1; ``max_classes`` limits classes in dataset order; ``max_candidates``
    bounds clean checks per class) or ``"in-order"`` (the first ``max_videos`` correctly classified videos in
    the dataset's order, all if unset); ``batch_videos`` videos per ``attack_batch`` chunk (also the unit of
    resumption); ``order``: run the chunks ``"method"`` by method (default) or ``"video"`` by video, each
    through every method and setting (a campaign stopped part-way then holds paired results)."""

    models: tuple[ModelConfig, ...]
    datasets: tuple[DatasetConfig, ...]
    methods: tuple[MethodConfig, ...]
    settings: tuple[SettingConfig, ...]
    seed: int = 0
    videos_per_class: int = 1
    max_classes: int | None = None
    max_candidates: int | None = None
    batch_videos: int = 16
    executor: str = "local"
    address: str | None = None
    workers: int | None = None
    device: str | None = None
    gallery: int = 12
    selection: str = "per-class"
    max_videos: int | None = None
    order: str = "method"

    def __post_init__(self) -> None:
        for what in ("models", "datasets", "methods", "settings"):
            items = getattr(self, what)
            if not items:
                raise ValueError(f"campaign: no {what} given (config [[{what}]] or --{what})")
            names = [x.name for x in items]
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise ValueError(f"campaign: {what} names must be unique, repeated: {dup}")
        if self.executor not in EXECUTORS:
            raise ValueError(f"executor must be one of {EXECUTORS.names()}, got {self.executor!r}")
        for k in ("videos_per_class", "batch_videos"):
            if int(getattr(self, k)) < 1:
                raise ValueError(f"campaign: {k} must be >= 1, got {getattr(self, k)}")
        for m in self.methods:
            if m.settings is not None and not m.settings:
                raise ValueError(f"campaign: method {m.name!r} has an empty settings list")
        if self.order not in ORDERS:
            raise ValueError(f"campaign: order must be one of {ORDERS}, got {self.order!r}")
        if self.selection not in SELECTIONS:
            raise ValueError(f"campaign: selection must be one of {SELECTIONS}, got {self.selection!r}")
        for k in ("max_classes", "max_candidates", "workers", "max_videos"):
            v = getattr(self, k)
            if v is not None and int(v) < 1:
                raise ValueError(f"campaign: {k} must be >= 1 or unset, got {v}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def runs(self, method: MethodConfig, setting: SettingConfig) -> bool:
        """Whether ``method`` runs under ``setting`` (its ``settings`` list, if any, names it)."""
        return method.settings is None or setting.name in method.settings


_CAMPAIGN_KEYS = {
    "seed",
    "videos_per_class",
    "max_classes",
    "max_candidates",
    "batch_videos",
    "executor",
    "address",
    "workers",
    "device",
    "gallery",
    "settings",
    "selection",
    "max_videos",
    "order",
}


def _entries(raw: Any, cls: type[DataclassInstance], where: str, base: Path) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValueError(f"{where}: expected an array of tables [[{where}]], got {type(raw).__name__}")
    out = []
    fields = set(cls.__dataclass_fields__)  # other keys are the method's params / the model's or loader's options
    for i, e in enumerate(raw):
        if isinstance(e, str):
            e = {"name": e}
        if not isinstance(e, dict) or "name" not in e:
            raise ValueError(f"{where}[{i}]: each entry needs a name")
        known = {k: v for k, v in e.items() if k in fields}
        extra = {k: v for k, v in e.items() if k not in fields}
        if cls is MethodConfig and extra:
            known["params"] = {**extra, **known.get("params", {})}
        elif cls in (ModelConfig, DatasetConfig) and extra:
            known["options"] = {**extra, **known.get("options", {})}
        for key in ("root", "mapping"):
            if cls is DatasetConfig and isinstance(known.get(key), str) and known[key] != "index":
                known[key] = _relative(known[key], base)
        if cls is ModelConfig and isinstance(known.get("ref"), str) and _is_model_file(known["ref"]):
            known["ref"] = _relative(known["ref"], base)
        if cls is ModelConfig and "options" in known:
            known["options"] = {k: _relative(v, base) if k in PATH_OPTIONS and isinstance(v, str) else v
                                for k, v in known["options"].items()}  # fmt: skip
        out.append(cls(**known))
    return out


PATH_OPTIONS = ("weights",)
"""Model options that name files: resolved relative to the config file, like dataset roots."""


def _is_model_file(ref: str) -> bool:
    """A model reference naming a file (any suffix :func:`~mesampler.models.adapters.load_model` reads)."""
    from mesampler.models.adapters.load import MODEL_SUFFIXES

    return Path(ref).suffix.lower() in MODEL_SUFFIXES


def _relative(p: str, base: Path) -> str:
    q = Path(os.path.expanduser(p))
    return str(q if q.is_absolute() else (base / q))


def read_config(path: str | os.PathLike | None, **overrides: Any) -> CampaignConfig:
    """Read a campaign TOML (``None``: no file, flags only) and apply ``overrides`` (``None`` values ignored).

    Overrides: the ``[campaign]`` keys, plus ``models``/``datasets``/``methods`` (lists of entries or names,
    replacing the file's), ``settings`` (names), ``eps``/``max_queries`` (applied to every setting).
    """
    raw: dict[str, Any] = {}
    base = Path.cwd()
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"campaign config {p} not found")
        try:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"{p}: invalid TOML ({e})") from None
        base = p.resolve().parent
    unknown = sorted(set(raw) - {"campaign", "models", "datasets", "methods", "settings"})
    if unknown:
        raise ValueError(
            f"{path}: unknown section(s) {unknown}; expected campaign, models, datasets, methods, settings"
        )
    camp = dict(raw.get("campaign", {}))
    bad = sorted(set(camp) - _CAMPAIGN_KEYS)
    if bad:
        raise ValueError(f"{path}: unknown [campaign] key(s) {bad}; allowed {sorted(_CAMPAIGN_KEYS)}")
    ov = {k: v for k, v in overrides.items() if v is not None}
    models = _entries(ov.pop("models", raw.get("models")), ModelConfig, "models", base)
    datasets = _entries(ov.pop("datasets", raw.get("datasets")), DatasetConfig, "datasets", base)
    methods = _entries(ov.pop("methods", raw.get("methods")), MethodConfig, "methods", base)
    defined = dict(PAPER_SETTINGS)
    for name, table in (raw.get("settings") or {}).items():
        if not isinstance(table, dict):
            raise ValueError(f"[settings.{name}] must be a table")
        targeted = bool(table.get("targeted", defined.get(name, PAPER_SETTINGS["untargeted"]).targeted))
        paper = PAPER_SETTINGS["targeted" if targeted else "untargeted"]
        optional = ("output", "clean_in_budget", "max_videos")
        bad = sorted(set(table) - {"targeted", "eps", "max_queries", *optional})
        if bad:
            raise ValueError(
                f"[settings.{name}]: unknown key(s) {bad}; allowed targeted, eps, max_queries, {', '.join(optional)}"
            )
        defined[name] = SettingConfig(
            name, targeted, float(table.get("eps", paper.eps)), int(table.get("max_queries", paper.max_queries)),
            **{k: table[k] for k in optional if k in table},
        )  # fmt: skip
    chosen = ov.pop("settings", camp.pop("settings", None)) or ["untargeted"]
    if isinstance(chosen, str):
        chosen = [s for s in chosen.split(",") if s]
    missing = [s for s in chosen if s not in defined]
    if missing:
        raise ValueError(f"unknown setting(s) {missing}; defined: {sorted(defined)} (add [settings.NAME] tables)")
    for m in methods:
        unknown_s = sorted(set(m.settings or ()) - set(defined))
        if unknown_s:
            raise ValueError(
                f"{path}: method {m.name!r} names unknown setting(s) {unknown_s}; defined: {sorted(defined)}"
            )
    eps, max_q = ov.pop("eps", None), ov.pop("max_queries", None)
    settings = [defined[s] for s in chosen]
    if eps is not None or max_q is not None:
        settings = [
            replace(
                s,
                eps=float(eps) if eps is not None else s.eps,
                max_queries=int(max_q) if max_q is not None else s.max_queries,
            )
            for s in settings
        ]
    camp.update(ov)
    return CampaignConfig(
        models=tuple(models), datasets=tuple(datasets), methods=tuple(methods), settings=tuple(settings), **camp
    )
