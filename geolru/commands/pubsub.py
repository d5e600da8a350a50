"""Pub/sub commands: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH PUBSUB.

Replies are redis-server 7.0's (pubsub.c): one confirmation per channel or pattern,
an array in RESP2 and a push frame in RESP3; a RESP2 connection with a subscription
may run only the commands Redis allows then (``SUBSCRIBER_COMMANDS``, checked by the
dispatch).  ``PUBLISH`` delivers here, then hands the message to the peers
(``CommandTable.publish_to_peers``), which deliver it to their own subscribers: its
reply counts this region's receivers only, as a Redis Cluster node counts its own.
"""

from __future__ import annotations

from geolru.commands.args import arity_error, keyword, text
from geolru.commands.channels import subscription_reply
from geolru.commands.docs import SUBCOMMANDS
from geolru.resp import codec as p

# what a RESP2 connection in subscriber mode may run (Redis': its SSUBSCRIBE,
# SUNSUBSCRIBE and RESET a region does not have)
SUBSCRIBER_COMMANDS = frozenset((b"subscribe", b"unsubscribe", b"psubscribe",
                                 b"punsubscribe", b"ping", b"quit", b"reset",
                                 b"ssubscribe", b"sunsubscribe"))
PUBSUB_HELP = [
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: "
    "'*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
]


def subscriber_refusal(args: list[bytes]) -> bytes:
    """The refusal of a command in RESP2 subscriber mode, naming it as Redis does (a
    container's subcommand as ``client|info``)."""
    name = text(args[0]).lower()
    if name in SUBCOMMANDS and len(args) > 1:
        name += "|" + text(args[1]).lower()
    return p.error(f"ERR Can't execute '{name}': only (P|S)SUBSCRIBE / "
                   "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")


class PubSubCommands:

    def cmd_subscribe(self, session, args):
        return self._join(session, args, b"subscribe", self.channels.subscribe)

    def cmd_psubscribe(self, session, args):
        return self._join(session, args, b"psubscribe", self.channels.psubscribe)

    def _join(self, session, args, kind: bytes, join) -> bytes:
        """SUBSCRIBE (PSUBSCRIBE): a confirmation for each name, held before or not."""
        out = []
        for name in args[1:]:
            join(session, name)
            out.append(subscription_reply(session, kind, name))
        return b"".join(out)

    def cmd_unsubscribe(self, session, args):
        return self._leave(session, args, b"unsubscribe", session.channels,
                           self.channels.unsubscribe)

    def cmd_punsubscribe(self, session, args):
        return self._leave(session, args, b"punsubscribe", session.patterns,
                           self.channels.punsubscribe)

    def _leave(self, session, args, kind: bytes, held: dict, leave) -> bytes:
        """UNSUBSCRIBE (PUNSUBSCRIBE): of the names given, or of every one held (a
        reply for each; one with a null name if none was)."""
        names = args[1:] or list(held)
        if not names:
            return subscription_reply(session, kind, None)
        out = []
        for name in names:
            leave(session, name)
            out.append(subscription_reply(session, kind, name))
        return b"".join(out)

    def cmd_publish(self, session, args):
        receivers = self.channels.publish(args[1], args[2])
        if self.publish_to_peers is not None:
            self.publish_to_peers(args[1], args[2])
        return p.integer(receivers)

    def deliver(self, channel: bytes, message: bytes) -> int:
        """A message published in another region: to this region's subscribers."""
        return self.channels.publish(channel, message)

    def cmd_pubsub(self, session, args):
        sub, argc = keyword(args[1]), len(args)
        channels = self.channels
        if sub not in PUBSUB_ARITY:
            return p.error("ERR unknown subcommand '%s'. Try PUBSUB HELP."
                           % text(args[1])[:128])
        arity = PUBSUB_ARITY[sub]
        if (arity > 0 and argc != arity) or argc < -arity:
            return arity_error("pubsub|" + text(args[1]).lower())
        if sub == b"HELP" and argc == 2:
            return p.array([p.simple(line) for line in PUBSUB_HELP])
        if sub in (b"CHANNELS", b"SHARDCHANNELS") and argc in (2, 3):
            if sub == b"SHARDCHANNELS":
                return p.EMPTY_ARRAY  # (no shard channels: SSUBSCRIBE is not built)
            return p.bulk_array(channels.matching(args[2] if argc == 3 else None))
        if sub in (b"NUMSUB", b"SHARDNUMSUB"):
            counts = channels.channels if sub == b"NUMSUB" else {}
            return b"*%d\r\n" % (2 * (argc - 2)) + b"".join(
                p.bulk(channel) + p.integer(len(counts.get(channel, ())))
                for channel in args[2:])
        if sub == b"NUMPAT" and argc == 2:
            return p.integer(len(channels.patterns))
        return p.error("ERR unknown subcommand or wrong number of arguments for '%s'. Try "
                       "PUBSUB HELP." % text(args[1])[:128])


PUBSUB_ARITY = {b"CHANNELS": -2, b"HELP": 2, b"NUMPAT": 2, b"NUMSUB": -2,
                b"SHARDCHANNELS": -2, b"SHARDNUMSUB": -2}
