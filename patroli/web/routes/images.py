"""Ad images, served by the app itself, and the investigators' look-up by image ("ads with this
flyer").

Images are crawled content: only what the crawl kept (content-addressed, its type sniffed from the
bytes and never SVG) is served, with its own type, ``nosniff`` and a CSP that forbids everything.
An upload is bounded in size (``PATROLI_IMAGES_MAX_BYTES``) and pixels, sniffed, decoded with the
bomb guard, fingerprinted and never kept.
"""

from __future__ import annotations

from starlette.responses import Response

from patroli.images.decode import ImageRefused
from patroli.images.files import ImageFiles, is_sha256
from patroli.images.inspect import probe_image
from patroli.web.i18n import N_
from patroli.web.routing import ANY_ROLE, INVESTIGATOR, Ctx, Page

IMAGE_CSP = "default-src 'none'; sandbox; frame-ancestors 'none'"
REFUSALS = {
    "too_large": N_("The image is too large."),
    "svg": N_("SVG files are not accepted: send a JPEG, PNG, WebP or GIF."),
    "not_an_image": N_("This file is not an image."),
    "unsupported_type": N_("Only JPEG, PNG, WebP and GIF images are accepted."),
    "decompression_bomb": N_("The image is too large."),
    "too_many_pixels": N_("The image is too large."),
    "too_small": N_("The image is too small to compare."),
    "undecodable": N_("The image cannot be read."),
    "low_information": N_("The image holds too little (blank, tiny or one colour) to compare."),
}


def image_file(ctx: Ctx) -> Response:
    sha256 = ctx.request.path_params["sha256"]
    found = ImageFiles(ctx.settings.images_dir).read(sha256) if is_sha256(sha256) else None
    if found is None:
        return ctx.error(404, ctx._("No such image."))
    data, media_type = found
    headers = {
        "Content-Security-Policy": IMAGE_CSP,
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": "inline",
        "Cache-Control": "private, max-age=3600",
    }
    return Response(data, media_type=media_type, headers=headers)


def image_search(ctx: Ctx) -> Response:
    if ctx.request.method != "POST":
        return ctx.render("image_search.html", hits=None, error="")
    upload = ctx.files.get("image", b"")
    if not upload:
        return ctx.render(
            "image_search.html", status=400, hits=None, error=ctx._("Choose an image.")
        )
    try:
        probe = probe_image(
            upload,
            max_bytes=ctx.settings.images_max_bytes,
            max_pixels=ctx.settings.images_max_pixels,
        )
    except ImageRefused as exc:
        message = ctx._(REFUSALS.get(exc.reason, N_("The image cannot be read.")))
        return ctx.render("image_search.html", status=400, hits=None, error=message)
    hits = ctx.ads.same_flyer([probe], limit=ctx.settings.page_size * 4)
    ctx.accounts.append_audit(ctx.actor, "search_image", detail=f"{len(hits)} ads with the flyer")
    return ctx.render("image_search.html", hits=hits, error="")


PAGES = [
    Page("/images/{sha256}", image_file, ANY_ROLE),
    Page("/search/image", image_search, INVESTIGATOR, ("GET", "POST"), upload=True),
]
