"""Where the original SyncNet weights come from (no torch needed to ask)."""

from __future__ import annotations

#: The file name the SyncNet authors publish the weights under.
SYNCNET_V2_FILENAME = "syncnet_v2.model"
#: Where the SyncNet authors publish it (the reference evaluation downloads it from here).
SYNCNET_V2_URL = "http://www.robots.ox.ac.uk/~vgg/software/lipsync/data/syncnet_v2.model"
