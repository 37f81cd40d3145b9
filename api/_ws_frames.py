"""JSON encoding for the GraphQL endpoint, with `next` payloads serialised once.

A live event executed once for many subscribers (`schema._shared_execution`) reaches each
subscriber's `next` message as the same `data` object; only the operation id differs, so
the payload is encoded once and spliced in. Everything else goes through orjson as is.
"""

import json
from collections import OrderedDict
from collections.abc import Mapping

import orjson


class FrameEncoder:
    def __init__(self, capacity: int = 64) -> None:
        self._capacity = capacity
        # id(data) → (data, its JSON). Holding `data` keeps the id from being reused.
        self._payloads: OrderedDict[int, tuple[object, str]] = OrderedDict()

    def encode(self, message: object) -> str:
        if isinstance(message, Mapping) and message.get("type") == "next":
            payload = message.get("payload")
            if isinstance(payload, Mapping) and payload.keys() == {"data"}:
                return (
                    f'{{"id":{_dumps(message.get("id"))},"type":"next",'
                    f'"payload":{{"data":{self._data_json(payload["data"])}}}}}'
                )
        return _dumps(message)

    def _data_json(self, data: object) -> str:
        found = self._payloads.get(id(data))
        if found is not None and found[0] is data:
            return found[1]
        encoded = _dumps(data)
        self._payloads[id(data)] = (data, encoded)
        if len(self._payloads) > self._capacity:
            self._payloads.popitem(last=False)
        return encoded


def _dumps(value: object) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # what orjson refuses (non-str keys, huge ints), json still writes
        return json.dumps(value, separators=(",", ":"))
