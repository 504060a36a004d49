"""The embedded default's broker: kombu's filesystem transport, each message published whole.

kombu's filesystem ``Channel._put`` creates the message file in the queue folder and then
writes it, while ``_get`` takes (moves) any file of its queue without the writer's lock: a
worker polling at that instant reads an empty or partial file, and its ``json.loads`` error
stops the worker ("Unrecoverable error"). The faster the polling
(``CELERY_BROKER_POLLING_INTERVAL``), the likelier that instant. Here a message is written
under a name ``_get`` never picks (the final name plus ``.partial``) in the same folder, then
renamed to its final name, which is atomic on one filesystem: a file with a queue's name is
always complete. Names, order and format are kombu's own, so kombu's stock reader reads them.

Selected by ``CELERY_BROKER_TRANSPORT`` in settings, on the embedded default only (Celery's
documented ``broker_transport`` setting names a transport class).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

PARTIAL_SUFFIX = ".partial"


class Channel(filesystem.Channel):
    # The signature is kombu's filesystem one; its stubs already differ from the abstract
    # channel's ``_put(queue, message)``, hence the ignore.
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        """Put ``payload`` on ``queue``: written under a name no reader takes, then renamed."""
        # kombu's name: milliseconds first, so a sorted listing is the publishing order.
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + PARTIAL_SUFFIX
        try:
            with open(partial, "wb", buffering=0) as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.remove(partial)
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
