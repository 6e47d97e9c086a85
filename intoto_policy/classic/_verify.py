"""Verification of classic in-toto layouts and links, with the reference's verdicts.

The order is in-toto 3.x's ``in_toto_verify``: layout signatures, expiry,
links and signature thresholds per step, sublayouts (recursively), command
alignment, threshold agreement, step rules, inspections, inspection rules.
Unlike the reference, a failure does not stop verification: every check is
evaluated and reported, with one exception made for safety: inspection
commands run only while nothing has failed (the reference never reaches
them otherwise either).

Deliberate differences from the reference, none of which accepts what it
rejects on the same evidence unless stated:

* Thresholds count distinct keys (key material), not distinct key ids.
* Key ids of every tool's convention name a key (see :mod:`._sig`), and a
  metablock signature verifies over the document as written (which keeps
  in-toto-golang's extra fields such as ``rootcas`` signed) as well as over
  the reference's rebuilt object.
* A link signed by an authorized key is also found under another file name
  when the reference's ``<step>.<keyid8>.link`` names do not give a step
  enough links (it must name the step).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from .._errors import InputError, IntotoPolicyError, LayoutError, ValidationError, excerpt
from ..crypto._keys import PublicKey
from ..model._json import LAYOUT_LIMITS
from ..policy._rules import ArtifactRule, RulesResult, evaluate_rules
from ..report._model import (
    AttestationRef,
    Check,
    CheckKind,
    LayoutInfo,
    Location,
    RejectedAttestation,
    RejectReason,
    Report,
    Signer,
    Status,
    StepResult,
)
from ._load import LINK_LIMITS, Document, ParseCache, parse_document, read_document, read_required
from ._model import (
    Inspection,
    Layout,
    Link,
    Step,
    layout_from_payload,
    link_from_payload,
    normalized_layout,
    normalized_link,
)
from ._sig import Functionary, functionary_from_dict, functionary_from_gpg, functionary_from_key

__all__ = ["verify_classic"]

#: At most this many artifact paths are listed in one check's details.
MAX_PATHS: Final = 1000

#: Deepest nesting of sublayouts (a sublayout of a sublayout... of the
#: layout); a deeper one fails its step rather than being followed.
MAX_SUBLAYOUT_DEPTH: Final = 8

#: Most sublayouts verified in one verification, at every depth together.
#: Depth alone does not bound the work: each level can delegate to many
#: sublayouts (N per level is N**8 at depth 8); beyond this, a sublayout
#: fails its step rather than being followed.
MAX_SUBLAYOUTS: Final = 256

#: Most steps verified in one verification (the layout's and all its
#: sublayouts'); a sublayout that would go beyond it fails its step.
MAX_TOTAL_STEPS: Final = 10_000
_FLAG: Final = "--run-inspections"


def verify_classic(
    layout_path: Path,
    *,
    layout_keys: Sequence[PublicKey],
    gpg_keyids: Sequence[str] = (),
    gpg_home: Path | None = None,
    link_dir: Path,
    at: datetime,
    run_inspections: bool = False,
    workdir: Path | None = None,
    inspection_timeout: float = 10.0,
) -> Report:
    """Verify a classic in-toto layout and its links.

    Args:
        layout_path: The layout (metablock or DSSE envelope).
        layout_keys: Layout owners' keys: each must have signed the layout.
        gpg_keyids: Layout owners' OpenPGP key ids, looked up in ``gpg_home``.
        gpg_home: The GnuPG home directory (default: gpg's default).
        link_dir: Where links are (sublayout links in ``<step>.<keyid8>/``).
        at: The verification time (expiry of the layout and of GPG keys).
        run_inspections: Run the layout's inspection commands. Without it a
            layout with inspections fails, naming ``--run-inspections``.
        workdir: Where inspections run and record files (default: the
            current directory).
        inspection_timeout: Seconds an inspection command may run (the
            reference's default is 10).

    Returns:
        The report; ``bool(report)`` is the verdict.

    Raises:
        InputError: The layout cannot be read or is malformed, or a GPG key
            cannot be exported.
    """
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    source = os.fspath(layout_path)
    data = read_required(layout_path, LAYOUT_LIMITS)
    cache = ParseCache()
    try:
        doc = parse_document(data, source=source, limits=LAYOUT_LIMITS, cache=cache)
        if doc.type != "layout":
            raise LayoutError(f"not a layout: its _type is {excerpt(doc.type or 'missing')}")
        layout = layout_from_payload(doc.payload)
    except IntotoPolicyError as exc:
        raise exc.with_source(source) from None
    owners = [functionary_from_key(key) for key in layout_keys]
    if gpg_keyids:
        from . import _gpg  # noqa: PLC0415 - gpg support is imported only when used

        owners += [
            functionary_from_gpg(k) for k in _gpg.export_pubkeys(gpg_keyids, gpg_home).values()
        ]
    ctx = _Context(
        at=at,
        run_inspections=run_inspections,
        workdir=workdir if workdir is not None else Path.cwd(),
        timeout=inspection_timeout,
        cache=cache,
    )
    chain = frozenset(i for i in (_identity(layout_path), _identity(link_dir)) if i is not None)
    outcome = _verify_layout(ctx, doc, layout, owners, link_dir, prefix="", chain=chain)
    return Report(
        layout=LayoutInfo(
            source=source,
            digest=doc.digest,
            format="classic",
            expires=layout.expires,
            signed_by=outcome.signed_by,
            signed=bool(doc.signatures),
        ),
        verified_at=at,
        # Classic links bind no subject here (the CLI refuses --subject): say so.
        checks=(
            *outcome.checks,
            Check(
                CheckKind.SUBJECT_BINDING,
                Status.INFO,
                "no subject bound: classic verification covers the links, not a particular "
                "artifact",
                details={"subjectOptOut": False},
            ),
        ),
        steps=tuple(outcome.steps),
        rejected=tuple(ctx.rejected),
    )


@dataclass(slots=True)
class _Context:
    at: datetime
    run_inspections: bool
    workdir: Path
    timeout: float
    cache: ParseCache
    failed: bool = False
    rejected: list[RejectedAttestation] = field(default_factory=list)
    # The work budget of the whole verification (MAX_SUBLAYOUTS,
    # MAX_TOTAL_STEPS), and every (sublayout file, link folder) pair
    # followed, by identity: one pair is verified once per run.
    sublayouts: int = 0
    steps: int = 0
    followed: set[tuple[tuple[int, int] | None, tuple[int, int] | None]] = field(
        default_factory=set
    )

    def note(self, check: Check) -> Check:
        if check.failed:
            self.failed = True
        return check


@dataclass(slots=True)
class _Evidence:
    """One counted link (or sublayout) for a step."""

    keyid: str
    functionary: Functionary
    doc: Document
    path: Path
    link: Link | None = None
    layout: Layout | None = None

    def ref(self) -> AttestationRef:
        fun = self.functionary
        name = self.link.name if self.link is not None and isinstance(self.link.name, str) else None
        return AttestationRef(
            source=str(self.path),
            digest=self.doc.digest,
            name=name,
            signers=(Signer(fun.principal, kind=fun.kind, keyid=fun.keyid),),
        )


@dataclass(slots=True)
class _Outcome:
    checks: list[Check]
    steps: list[StepResult]
    summary: Link
    signed_by: tuple[str, ...]


def _loc(doc: Document, pointer: str) -> Location:
    return Location(file=doc.source, pointer=pointer)


def _ref(doc: Document) -> AttestationRef:
    return AttestationRef(source=doc.source, digest=doc.digest)


def _paths(paths: Sequence[str] | frozenset[str] | set[str]) -> dict[str, Any]:
    listed = sorted(paths)
    out: dict[str, Any] = {"paths": listed[:MAX_PATHS], "count": len(listed)}
    if len(listed) > MAX_PATHS:
        out["truncated"] = True
    return out


def _verify_layout(
    ctx: _Context,
    doc: Document,
    layout: Layout,
    owners: Sequence[Functionary],
    link_dir: Path,
    prefix: str,
    chain: frozenset[tuple[int, int]] = frozenset(),
    depth: int = 0,
) -> _Outcome:
    """Verify one layout; ``chain`` holds the (device, inode) of every layout
    file and link folder on the way to it, ``depth`` how many sublayouts deep
    it is: both bound the recursion into sublayouts."""
    checks: list[Check] = []
    where = prefix.rstrip("/") or None
    ctx.steps += len(layout.steps)

    # 1. Layout signatures: every owner key must have signed.
    signed_by: list[str] = []
    if not owners:
        checks.append(
            ctx.note(
                Check(
                    CheckKind.SIGNATURE,
                    Status.FAIL,
                    "no layout key was given: at least one is needed to verify the layout",
                    step=where,
                    location=_loc(doc, ""),
                )
            )
        )
    for owner in owners:
        ok = owner.verify(doc, ctx.at, lambda: normalized_layout(doc.payload))
        if ok:
            signed_by.append(owner.keyid)
        checks.append(
            ctx.note(
                Check(
                    CheckKind.SIGNATURE,
                    Status.PASS if ok else Status.FAIL,
                    f"layout signed by {owner.kind} {owner.keyid[:16]}"
                    if ok
                    else f"no valid layout signature by {owner.kind} {owner.keyid[:16]}"
                    + (f" ({owner.problem})" if owner.problem else ""),
                    step=where,
                    expected=owner.keyid,
                    location=_loc(doc, ""),
                )
            )
        )
    doc.canonical.clear()

    # 2. Expiry.
    if layout.expires is not None:
        expired = layout.expires <= ctx.at
        checks.append(
            ctx.note(
                Check(
                    CheckKind.FRESHNESS,
                    Status.FAIL if expired else Status.PASS,
                    f"layout expired at {layout.expires.isoformat()}"
                    if expired
                    else f"layout valid until {layout.expires.isoformat()}",
                    step=where,
                    expected=layout.expires.isoformat(),
                    actual=ctx.at.isoformat(),
                    location=_loc(doc, "/expires"),
                )
            )
        )
    if layout.inspections and not ctx.run_inspections:
        names = ", ".join(i.name for i in layout.inspections)
        checks.append(
            ctx.note(
                Check(
                    CheckKind.INSPECTION,
                    Status.FAIL,
                    f"the layout has inspections that run commands ({names}); they run only "
                    f"with {_FLAG}, and without them the layout cannot pass",
                    step=where,
                    location=_loc(doc, "/inspect"),
                )
            )
        )

    functionaries = {kid: functionary_from_dict(kid, key) for kid, key in layout.keys.items()}
    step_checks: dict[str, list[Check]] = {s.name: [] for s in layout.steps}
    nested: dict[str, list[StepResult]] = {s.name: [] for s in layout.steps}

    # 3. Links and signature thresholds.
    evidence: dict[str, list[_Evidence]] = {}
    for step in layout.steps:
        evidence[step.name] = _collect_links(
            ctx, doc, layout, functionaries, step, link_dir, prefix, step_checks[step.name]
        )

    # 4. Sublayouts: replace each by its summary link.
    for step in layout.steps:
        for ev in evidence[step.name]:
            if ev.layout is None:
                continue
            sub_dir = link_dir / f"{step.name}.{ev.keyid[:8]}"
            refused = _sublayout_refused(ctx, ev.path, sub_dir, chain, depth, ev.layout)
            if refused is not None:
                step_checks[step.name].append(
                    ctx.note(
                        Check(
                            CheckKind.LAYOUT,
                            Status.FAIL,
                            f"sublayout {ev.path.name} (links in {sub_dir}) not verified: {refused}",
                            step=prefix + step.name,
                            details={"sublayout": str(ev.path), "linkDir": str(sub_dir)},
                            location=_loc(doc, f"/steps/{step.index}"),
                        )
                    )
                )
                # Counted as recording nothing; the failed check fails the step.
                ev.link = Link(step.name, {}, {}, [])
                continue
            inner = {i for i in (_identity(ev.path), _identity(sub_dir)) if i is not None}
            sub = _verify_layout(
                ctx,
                ev.doc,
                ev.layout,
                [ev.functionary],
                sub_dir,
                f"{prefix}{step.name}/",
                chain | inner,
                depth + 1,
            )
            sub_failed = any(c.failed for c in sub.checks) or any(not s.passed for s in sub.steps)
            step_checks[step.name].extend(sub.checks)
            step_checks[step.name].append(
                ctx.note(
                    Check(
                        CheckKind.LAYOUT,
                        Status.FAIL if sub_failed else Status.PASS,
                        f"sublayout {ev.path.name} (links in {sub_dir})"
                        + (" failed verification" if sub_failed else " verified"),
                        step=prefix + step.name,
                        details={"sublayout": str(ev.path), "linkDir": str(sub_dir)},
                        location=_loc(doc, f"/steps/{step.index}"),
                    )
                )
            )
            nested[step.name].extend(sub.steps)
            summary = sub.summary
            ev.link = Link(step.name, summary.materials, summary.products, summary.command)

    # 5. Command alignment (a warning only, as in the reference).
    for step in layout.steps:
        for ev in evidence[step.name]:
            assert ev.link is not None
            aligned = ev.link.command == list(step.expected_command)
            step_checks[step.name].append(
                Check(
                    CheckKind.COMMAND,
                    Status.PASS if aligned else Status.WARN,
                    "recorded command matches the expected command"
                    if aligned
                    else f"{ev.path.name}: recorded command differs from the expected command",
                    step=prefix + step.name,
                    expected=list(step.expected_command),
                    actual=ev.link.command,
                    details={"link": str(ev.path)},
                    location=_loc(doc, f"/steps/{step.index}/expected_command"),
                )
            )

    # 6. Threshold agreement: all counted links report the same artifacts.
    for step in layout.steps:
        links = evidence[step.name]
        if step.threshold <= 1 or len(links) < 2:
            continue
        step_checks[step.name].append(ctx.note(_agreement(ctx, doc, step, links, prefix)))

    reduced: dict[str, Link] = {}
    for step in layout.steps:
        links = evidence[step.name]
        if links and links[0].link is not None:
            reduced[step.name] = links[0].link

    # 7. Step rules.
    def step_artifacts(name: str) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
        link = reduced.get(name)
        return None if link is None else (link.materials, link.products)

    for step in layout.steps:
        link = reduced.get(step.name)
        if link is None:
            continue
        step_checks[step.name].extend(
            _artifact_rule_checks(
                ctx, doc, step, link, step_artifacts, prefix + step.name, f"/steps/{step.index}"
            )
        )

    # 8./9. Inspections and their rules.
    inspection_results = _inspections(ctx, doc, layout, reduced, prefix)

    steps: list[StepResult] = []
    for step in layout.steps:
        steps.append(
            StepResult(
                name=prefix + step.name,
                checks=tuple(step_checks[step.name]),
                attestations=tuple(ev.ref() for ev in evidence[step.name]),
                location=_loc(doc, f"/steps/{step.index}"),
            )
        )
        steps.extend(nested[step.name])
    steps.extend(inspection_results)

    summary = Link("", {}, {}, [])
    if layout.steps:
        first = reduced.get(layout.steps[0].name)
        last = reduced.get(layout.steps[-1].name)
        summary = Link(
            "",
            first.materials if first else {},
            last.products if last else {},
            last.command if last else [],
        )
    return _Outcome(checks, steps, summary, tuple(signed_by))


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of what ``path`` names, following links; None if absent."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _sublayout_refused(
    ctx: _Context,
    path: Path,
    sub_dir: Path,
    chain: frozenset[tuple[int, int]],
    depth: int,
    sublayout: Layout,
) -> str | None:
    """Why a sublayout must not be followed (a loop, too deep, the same pair
    again, over the run's budget), or None; if None, it is counted as
    followed."""
    if depth + 1 > MAX_SUBLAYOUT_DEPTH:
        return f"sublayouts nest deeper than {MAX_SUBLAYOUT_DEPTH} levels"
    pair = (_identity(path), _identity(sub_dir))
    if pair[0] in chain:
        return "it is a layout already being verified (a loop)"
    if pair[1] in chain:
        return f"its link folder {sub_dir} is a folder already being verified (a loop)"
    if pair in ctx.followed:
        return "the same sublayout file with the same link folder was already verified in this run"
    if ctx.sublayouts >= MAX_SUBLAYOUTS:
        return f"more than {MAX_SUBLAYOUTS} sublayouts in one verification"
    if ctx.steps + len(sublayout.steps) > MAX_TOTAL_STEPS:
        return f"more than {MAX_TOTAL_STEPS} steps in one verification (sublayouts included)"
    ctx.sublayouts += 1
    ctx.followed.add(pair)
    return None


def _link_names(step: Step, layout: Layout) -> Iterator[str]:
    """Key ids whose ``<step>.<keyid8>.link`` files the reference loads, in its order."""
    for authorized in step.pubkeys:
        yield authorized
        key = layout.keys.get(authorized) or {}
        subkeys = key.get("subkeys") or {}
        if isinstance(subkeys, Mapping):
            yield from subkeys


def _verification_key(
    step: Step, layout: Layout, functionaries: Mapping[str, Functionary], link_keyid: str
) -> Functionary | None:
    """The reference's choice of key for a link found under ``link_keyid``."""
    main_for_sub: dict[str, str] = {}
    for kid, key in layout.keys.items():
        subkeys = key.get("subkeys") or {}
        if isinstance(subkeys, Mapping):
            for sub in subkeys:
                main_for_sub[sub] = kid
    for authorized in step.pubkeys:
        listed = layout.keys.get(authorized)
        if listed is not None and link_keyid == authorized:
            return functionaries[authorized]
        if authorized in main_for_sub and link_keyid == authorized:
            return functionaries[main_for_sub[authorized]]
        subkeys = (listed or {}).get("subkeys") or {}
        if listed is not None and isinstance(subkeys, Mapping) and link_keyid in subkeys:
            return functionaries[authorized]
    return None


def _load(ctx: _Context, path: Path, presign: Functionary | None = None) -> Document | str | None:
    """The document at ``path``; ``None`` if unreadable; a problem string if malformed.

    A DSSE envelope's signature by ``presign`` is checked before its payload
    is parsed (the outcome is kept in the document for ``presign.verify``).
    """

    def check(doc: Document) -> None:
        assert presign is not None
        presign.verify(doc, ctx.at, dict)

    try:
        doc = read_document(
            path,
            limits=LINK_LIMITS,
            cache=ctx.cache,
            presign=None if presign is None else check,
        )
    except InputError as exc:
        return exc.problem
    if doc is None:
        return None
    if doc.type not in ("link", "layout"):
        return f"neither a link nor a layout (_type {excerpt(doc.type or 'missing')})"
    return doc


def _model(ev_doc: Document) -> tuple[Link | None, Layout | None]:
    if ev_doc.type == "layout":
        return None, layout_from_payload(ev_doc.payload)
    return link_from_payload(ev_doc.payload, ev_doc.cache), None


def _collect_links(
    ctx: _Context,
    doc: Document,
    layout: Layout,
    functionaries: Mapping[str, Functionary],
    step: Step,
    link_dir: Path,
    prefix: str,
    checks: list[Check],
) -> list[_Evidence]:
    name = prefix + step.name
    found: list[_Evidence] = []
    seen_paths: set[Path] = set()
    principals: set[str] = set()
    tried: list[str] = []
    for link_keyid in _link_names(step, layout):
        path = link_dir / f"{step.name}.{link_keyid[:8]}.link"
        if path in seen_paths:
            continue
        seen_paths.add(path)
        fun = _verification_key(step, layout, functionaries, link_keyid)
        loaded = _load(ctx, path, fun)
        if loaded is None:
            tried.append(path.name)
            continue
        if isinstance(loaded, str):
            # The reference aborts on a malformed link file under an authorized name.
            checks.append(
                ctx.note(
                    Check(
                        CheckKind.SIGNATURE,
                        Status.FAIL,
                        f"{path.name} cannot be read as link metadata: {loaded}",
                        step=name,
                        details={"link": str(path)},
                    )
                )
            )
            ctx.rejected.append(
                RejectedAttestation(
                    AttestationRef(source=str(path)), RejectReason.MALFORMED, loaded, name
                )
            )
            continue
        if fun is None:
            ctx.rejected.append(
                RejectedAttestation(
                    _ref(loaded),
                    RejectReason.UNAUTHORIZED,
                    f"key id {link_keyid[:16]} is not authorized for step {excerpt(step.name)}",
                    name,
                )
            )
            continue
        ev = _accept(ctx, loaded, fun, link_keyid, path, name, checks)
        if ev is not None:
            found.append(ev)
            principals.add(fun.principal)

    needed = max(step.threshold, 1)
    if len(principals) < needed:
        for ev in _fallback(
            ctx, step, functionaries, link_dir, seen_paths, principals, name, checks
        ):
            found.append(ev)
            principals.add(ev.functionary.principal)
            if len(principals) >= needed:
                break
    # Order as the reference would have found them: by authorized key id.
    order = {kid: i for i, kid in enumerate(_link_names(step, layout))}
    found.sort(key=lambda ev: order.get(ev.keyid, len(order)))

    ok = len(principals) >= needed
    checks.append(
        ctx.note(
            Check(
                CheckKind.THRESHOLD,
                Status.PASS if ok else Status.FAIL,
                f"{len(principals)} of {step.threshold} required principals signed links "
                "(distinct authorized keys)"
                + ("" if ok else f" (looked for {', '.join(tried) or 'links'} in {link_dir})"),
                step=name,
                expected=step.threshold,
                actual=len(principals),
                details={
                    "links": [str(ev.path) for ev in found],
                    "authorized": list(step.pubkeys),
                },
                location=_loc(doc, f"/steps/{step.index}/threshold"),
            )
        )
    )
    return found


def _accept(
    ctx: _Context,
    loaded: Document,
    fun: Functionary,
    link_keyid: str,
    path: Path,
    step_name: str,
    checks: list[Check],
) -> _Evidence | None:
    try:
        link, sublayout = _model(loaded)
    except IntotoPolicyError as exc:
        checks.append(
            ctx.note(
                Check(
                    CheckKind.SIGNATURE,
                    Status.FAIL,
                    f"{path.name} is not valid link metadata: {exc.problem}",
                    step=step_name,
                    details={"link": str(path)},
                )
            )
        )
        ctx.rejected.append(
            RejectedAttestation(_ref(loaded), RejectReason.MALFORMED, exc.problem, step_name)
        )
        return None
    payload = loaded.payload
    normalize = (
        (lambda: normalized_layout(payload)) if sublayout else (lambda: normalized_link(payload))
    )
    ok = fun.verify(loaded, ctx.at, normalize)
    loaded.canonical.clear()
    if sublayout is None:
        loaded.signed_bytes = None  # a big link's PAE is not needed again
    if not ok:
        reason = fun.problem or f"no valid signature by key {fun.keyid[:16]}"
        ctx.rejected.append(
            RejectedAttestation(_ref(loaded), RejectReason.BAD_SIGNATURE, reason, step_name)
        )
        return None
    return _Evidence(link_keyid, fun, loaded, path, link, sublayout)


def _fallback(
    ctx: _Context,
    step: Step,
    functionaries: Mapping[str, Functionary],
    link_dir: Path,
    seen_paths: set[Path],
    principals: set[str],
    step_name: str,
    checks: list[Check],
) -> Iterator[_Evidence]:
    """Links for ``step`` under other file names, signed by an authorized key."""
    candidates = [functionaries[k] for k in step.pubkeys if k in functionaries]
    try:
        paths = sorted(p for p in link_dir.iterdir() if p.name.endswith(".link"))
    except OSError:
        return
    for path in paths:
        if path in seen_paths or not path.is_file():
            continue
        loaded = _load(ctx, path)
        if not isinstance(loaded, Document) or loaded.type != "link":
            continue
        if loaded.payload.get("name") != step.name:
            continue
        for fun in candidates:
            if fun.principal in principals:
                continue
            try:
                link = link_from_payload(loaded.payload, loaded.cache)
            except ValidationError:
                break
            payload = loaded.payload
            if fun.verify(loaded, ctx.at, lambda: normalized_link(payload)):  # noqa: B023
                seen_paths.add(path)
                yield _Evidence(fun.keyid, fun, loaded, path, link, None)
                break
        loaded.canonical.clear()


def _agreement(
    ctx: _Context, doc: Document, step: Step, links: Sequence[_Evidence], prefix: str
) -> Check:
    first = links[0]
    assert first.link is not None
    differing: list[str] = []
    paths: set[str] = set()
    for ev in links[1:]:
        assert ev.link is not None
        if ev.link.materials == first.link.materials and ev.link.products == first.link.products:
            continue
        differing.append(str(ev.path))
        for mine, theirs in (
            (first.link.materials, ev.link.materials),
            (first.link.products, ev.link.products),
        ):
            paths.update(p for p in mine.keys() ^ theirs.keys())
            paths.update(p for p in mine.keys() & theirs.keys() if mine[p] != theirs[p])
        ctx.rejected.append(
            RejectedAttestation(
                ev.ref(),
                RejectReason.DISAGREEING,
                f"its artifacts differ from those of {first.path.name}",
                prefix + step.name,
            )
        )
    if not differing:
        return Check(
            CheckKind.THRESHOLD,
            Status.PASS,
            f"all {len(links)} counted links report the same materials and products",
            step=prefix + step.name,
            location=_loc(doc, f"/steps/{step.index}/threshold"),
        )
    return Check(
        CheckKind.THRESHOLD,
        Status.FAIL,
        f"links disagree on materials or products: {', '.join(differing)} differ from {first.path}",
        step=prefix + step.name,
        details={"reference": str(first.path), "differing": differing, **_paths(paths)},
        location=_loc(doc, f"/steps/{step.index}/threshold"),
    )


def _artifact_rule_checks(
    ctx: _Context,
    doc: Document,
    item: Step | Inspection,
    link: Link,
    artifacts: Callable[[str], tuple[Mapping[str, Any], Mapping[str, Any]] | None],
    name: str,
    pointer: str,
) -> list[Check]:
    """The checks of a step's or inspection's material and product rules against its link."""
    checks: list[Check] = []
    for side, rules in (
        ("materials", item.expected_materials),
        ("products", item.expected_products),
    ):
        result = evaluate_rules(
            rules,
            source_type=side,  # type: ignore[arg-type]
            materials=link.materials,
            products=link.products,
            step_artifacts=artifacts,
        )
        checks.extend(ctx.note(c) for c in _rule_checks(doc, result, rules, name, pointer))
    return checks


def _rule_checks(
    doc: Document,
    result: RulesResult,
    rules: Sequence[ArtifactRule],
    step_name: str,
    pointer: str,
) -> Iterator[Check]:
    field_name = f"expected_{result.source_type}"
    for index, (rule, outcome) in enumerate(zip(rules, result.outcomes, strict=True)):
        text = str(rule)
        details: dict[str, Any] = {"consumed": len(outcome.consumed)}
        if outcome.note:
            details["note"] = outcome.note
        if outcome.passed:
            message = f"{result.source_type}: {text}"
            status = Status.PASS
        else:
            details.update(_paths(outcome.failed_paths))
            shown = ", ".join(outcome.failed_paths[:5])
            more = len(outcome.failed_paths) - 5
            message = (
                f"{result.source_type}: {text} failed: {outcome.note or 'rule failed'}: {shown}"
                + (f" (+{more} more)" if more > 0 else "")
            )
            status = Status.FAIL
        yield Check(
            CheckKind.ARTIFACT_RULE,
            status,
            message,
            step=step_name,
            rule=text,
            details=details,
            location=_loc(doc, f"{pointer}/{field_name}/{index}"),
        )


def _inspections(
    ctx: _Context,
    doc: Document,
    layout: Layout,
    reduced: Mapping[str, Link],
    prefix: str,
) -> list[StepResult]:
    results: list[StepResult] = []
    if not layout.inspections:
        return results
    ran: dict[str, Link] = {}
    checks: dict[str, list[Check]] = {i.name: [] for i in layout.inspections}
    stopped = ""
    for insp in layout.inspections:
        name = prefix + insp.name
        pointer = f"/inspect/{insp.index}/run"
        # An inspection that did not run did not pass: its step says so, so
        # that the step summary agrees with the verdict (which is FAIL then).
        if not ctx.run_inspections:
            checks[insp.name].append(
                Check(
                    CheckKind.INSPECTION,
                    Status.FAIL,
                    f"not run: inspections run only with {_FLAG}",
                    step=name,
                    expected=list(insp.run),
                    location=_loc(doc, pointer),
                )
            )
            continue
        if stopped or ctx.failed:
            checks[insp.name].append(
                Check(
                    CheckKind.INSPECTION,
                    Status.FAIL,
                    f"not run: {stopped or 'earlier checks failed'}",
                    step=name,
                    expected=list(insp.run),
                    location=_loc(doc, pointer),
                )
            )
            continue
        from ._inspect import run_inspection  # noqa: PLC0415 - only when inspections run

        outcome = run_inspection(insp.run, ctx.workdir, ctx.timeout)
        ok = not outcome.problem
        checks[insp.name].append(
            ctx.note(
                Check(
                    CheckKind.INSPECTION,
                    Status.PASS if ok else Status.FAIL,
                    f"ran {excerpt(' '.join(map(str, insp.run)))} in {ctx.workdir}"
                    + ("" if ok else f": {outcome.problem}"),
                    step=name,
                    expected=list(insp.run),
                    actual=outcome.return_value,
                    location=_loc(doc, pointer),
                )
            )
        )
        if not ok:
            stopped = f"inspection {excerpt(insp.name)} failed"
            continue
        ran[insp.name] = Link(insp.name, outcome.materials, outcome.products, list(insp.run))

    combined: dict[str, Link] = dict(reduced)
    combined.update(ran)

    def artifacts(name: str) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
        link = combined.get(name)
        return None if link is None else (link.materials, link.products)

    for insp in layout.inspections:
        link = ran.get(insp.name)
        if link is not None:
            checks[insp.name].extend(
                _artifact_rule_checks(
                    ctx, doc, insp, link, artifacts, prefix + insp.name, f"/inspect/{insp.index}"
                )
            )
        results.append(
            StepResult(
                name=prefix + insp.name,
                checks=tuple(checks[insp.name]),
                location=_loc(doc, f"/inspect/{insp.index}"),
            )
        )
    return results
