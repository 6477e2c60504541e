"""Properties of the vision-transformer exercises (q40–q42).

The convention (MAE's patchify) is stated block by block: patch i is the image block at grid
row i // (W/P) and grid column i % (W/P), flattened in (row, column, channel) order. The
judge builds expected values with that loop, independent of any reshape trick.

One module per exercise (its properties and known mistakes), registered in this order;
strategies.py draws the topic's inputs. The names below are re-exported for tests/wrong/vit.py
and the topics that reuse them.
"""

# Importing the modules registers the exercises: this order is the catalog's.
# isort: off
from grader.properties.vit import patchify, unpatchify, embed_patches, interpolate_pos_embed  # noqa: F401
from grader.properties.vit._shared import _block_patches, _patchify_channel_first
from grader.properties.vit.patchify import _block_image, _patchify_column_major, _patchify_no_permute
from grader.properties.vit.unpatchify import _unpatchify_channel_first, _unpatchify_column_major, _unpatchify_no_permute
from grader.properties.vit.embed_patches import _embed_channel_first, _embed_cls_last, _embed_no_pos_on_cls, _embed_pos_before_cls
from grader.properties.vit.interpolate_pos_embed import _pos_align_corners, _pos_cls_in_grid, _pos_column_major, _pos_no_permute, _resize
# isort: on

__all__ = ["_block_image", "_block_patches", "_embed_channel_first", "_embed_cls_last", "_embed_no_pos_on_cls", "_embed_pos_before_cls", "_patchify_channel_first", "_patchify_column_major", "_patchify_no_permute", "_pos_align_corners", "_pos_cls_in_grid", "_pos_column_major", "_pos_no_permute", "_resize", "_unpatchify_channel_first", "_unpatchify_column_major", "_unpatchify_no_permute"]
