"""Connection commands: PING, ECHO, QUIT, AUTH, SELECT, HELLO, CLIENT, COMMAND, HELP."""

from __future__ import annotations

from time import perf_counter_ns

from geolru.commands.args import (
    REDIS_VERSION,
    SYNTAX,
    WRONGPASS,
    CommandError,
    arity_error,
    int_arg,
    keyword,
    text,
)
from geolru.commands.docs import docs_reply, info_reply
from geolru.commands.specs import COMMANDS
from geolru.commands.tracking import TrackingState, prefix_overlap, tracking_info
from geolru.resp import codec as p
from geolru.resp.codec import parse_int

CLIENT_TYPES = (b"NORMAL", b"MASTER", b"REPLICA", b"SLAVE", b"PUBSUB")


def _normal(kind: bytes) -> bool:
    """Whether a CLIENT LIST/KILL ``TYPE`` takes in the region's clients: it has no
    replicas and no subscribers, so every client is ``normal``."""
    if keyword(kind) not in CLIENT_TYPES:
        raise CommandError(p.error("ERR Unknown client type '%s'" % text(kind)))
    return keyword(kind) == b"NORMAL"


class ConnectionCommands:

    def cmd_ping(self, session, args):
        if len(args) > 2:
            return arity_error("ping")
        if (session.channels or session.patterns) and not session.resp3:
            # (subscriber mode: an array, as a message is)
            return b"*2\r\n$4\r\npong\r\n" + p.bulk(args[1] if len(args) == 2 else b"")
        return p.PONG if len(args) == 1 else p.bulk(args[1])

    def cmd_echo(self, session, args):
        return p.bulk(args[1])

    def cmd_quit(self, session, args):
        session.closing = True
        return p.OK

    def cmd_auth(self, session, args):
        if len(args) > 3:
            return SYNTAX
        if not self.requirepass:
            return p.error("ERR AUTH <password> called without any password configured "
                           "for the default user. Are you sure your configuration is correct?")
        user, password = (b"default", args[1]) if len(args) == 2 else (args[1], args[2])
        if user == b"default" and password == self.requirepass:
            session.authenticated = True
            return p.OK
        return WRONGPASS

    def cmd_select(self, session, args):
        if int_arg(args[1]) != 0:
            return p.error("ERR DB index is out of range")
        return p.OK

    def cmd_hello(self, session, args):
        i = 1
        if len(args) > 1:
            version = parse_int(args[1])
            if version is None:
                return p.error("ERR Protocol version is not an integer or out of range")
            if version not in (2, 3):
                return p.error("NOPROTO unsupported protocol version")
            i = 2
        password = name = None
        while i < len(args):
            option = keyword(args[i])
            more = len(args) - i - 1
            if option == b"AUTH" and more >= 2:
                password = (args[i + 1], args[i + 2])
                i += 3
            elif option == b"SETNAME" and more >= 1:
                name = args[i + 1]
                i += 2
            else:
                return p.error("ERR Syntax error in HELLO option '%s'" % text(args[i]))
        if password is not None:
            user, secret = password
            if not self.requirepass or user != b"default" or secret != self.requirepass:
                return WRONGPASS
            session.authenticated = True
        if self.requirepass and not session.authenticated:
            return p.error("NOAUTH HELLO must be called with the client already "
                           "authenticated, otherwise the HELLO <proto> AUTH <user> <pass> "
                           "option can be used to authenticate the client and select the "
                           "RESP protocol version at the same time")
        if name is not None:
            reply = self._set_client_name(session, name)
            if reply is not p.OK:
                return reply
        if len(args) > 1:
            session.resp3 = version == 3
            session.nil = p.NULL3 if session.resp3 else p.NIL
        return p.mapping([
            (p.bulk(b"server"), p.bulk(b"redis")),
            (p.bulk(b"version"), p.bulk(REDIS_VERSION.encode())),
            (p.bulk(b"proto"), p.integer(3 if session.resp3 else 2)),
            (p.bulk(b"id"), p.integer(session.id)),
            (p.bulk(b"mode"), p.bulk(b"standalone")),
            (p.bulk(b"role"), p.bulk(b"master")),
            (p.bulk(b"modules"), p.EMPTY_ARRAY),
        ], session.resp3)

    def _set_client_name(self, session, name: bytes) -> bytes:
        if any(c < 33 or c > 126 for c in name):
            return p.error("ERR Client names cannot contain spaces, newlines or "
                           "special characters.")
        session.name = name or None
        return p.OK

    def cmd_client(self, session, args):
        sub = keyword(args[1])
        argc = len(args)
        if sub == b"SETNAME" and argc == 3:
            return self._set_client_name(session, args[2])
        if sub == b"GETNAME" and argc == 2:
            return p.bulk(session.name, session.nil)
        if sub == b"ID" and argc == 2:
            return p.integer(session.id)
        if sub == b"SETINFO" and argc == 4:
            attribute = keyword(args[2])
            if attribute == b"LIB-NAME":
                session.lib_name = args[3]
            elif attribute == b"LIB-VER":
                session.lib_version = args[3]
            else:
                return p.error("ERR Unrecognized option '%s'" % text(args[2]))
            return p.OK
        if sub == b"INFO" and argc == 2:
            return p.bulk(self._client_line(session).encode() + b"\n")
        if sub == b"LIST":
            return self._client_list(args)
        if sub == b"KILL" and argc >= 3:
            return self._client_kill(session, args)
        if sub == b"TRACKING" and argc >= 3:
            return self._client_tracking(session, args)
        if sub == b"CACHING" and argc == 3:
            return self._client_caching(session, args)
        if sub == b"GETREDIR" and argc == 2:
            state = session.tracking
            return p.integer(state.redirect if state is not None else -1)
        if sub == b"TRACKINGINFO" and argc == 2:
            return tracking_info(session, session.resp3)
        if sub == b"NO-EVICT" and argc == 3:
            flag = keyword(args[2])
            if flag not in (b"ON", b"OFF"):
                return SYNTAX
            session.no_evict = flag == b"ON"
            return p.OK
        if sub == b"HELP" and argc == 2:
            return p.array([p.simple(line) for line in (
                "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CACHING (YES|NO)", "    Enable/disable tracking of the keys for next command "
                "in OPTIN/OPTOUT modes.",
                "GETREDIR", "    Return the client ID we are redirecting to when tracking is "
                "enabled.",
                "GETNAME", "    Return the name of the current connection.",
                "ID", "    Return the ID of the current connection.",
                "INFO", "    Return information about the current client connection.",
                "KILL <ip:port>", "    Kill connection made from <ip:port>.",
                "KILL <option> <value> [<option> <value> [...]]",
                "    Kill connections. Options are:",
                "    * ADDR (<ip:port>|<unixsocket>:0)", "      Kill connections made from the "
                "specified address", "    * ID <client-id>", "      Kill connections by client id.",
                "    * SKIPME (YES|NO)", "      Skip killing current connection (default: yes).",
                "LIST [options ...]", "    Return information about client connections. Options:",
                "    * ID <client-id> [<client-id> ...]", "      Return clients with specified IDs "
                "only.",
                "NO-EVICT (ON|OFF)", "    Protect current client connection from eviction.",
                "SETINFO <LIB-NAME|LIB-VER> <value>", "    Set client library name or version.",
                "SETNAME <name>", "    Assign the name <name> to the current connection.",
                "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
                "         [OPTIN] [OPTOUT] [NOLOOP]",
                "    Control server assisted client side caching.",
                "TRACKINGINFO", "    Report tracking status for the current connection.",
                "HELP", "    Print this help.")])
        if sub in (b"SETNAME", b"GETNAME", b"ID", b"SETINFO", b"INFO", b"HELP", b"KILL",
                   b"NO-EVICT", b"TRACKING", b"CACHING", b"GETREDIR", b"TRACKINGINFO"):
            return arity_error("client|" + text(args[1].lower()))
        return p.error("ERR unknown subcommand '%s'. Try CLIENT HELP." % text(args[1])[:128])

    def _client_tracking(self, session, args) -> bytes:
        """CLIENT TRACKING on|off [REDIRECT id] [BCAST] [PREFIX p]… [OPTIN] [OPTOUT]
        [NOLOOP], checked in Redis' order with Redis' errors."""
        redirect, prefixes = 0, []
        options = set()
        j = 3
        while j < len(args):
            word, more = keyword(args[j]), j + 1 < len(args)
            if word == b"REDIRECT" and more:
                j += 1
                if redirect:
                    return p.error("ERR A client can only redirect to a single other client")
                redirect = p.parse_int(args[j])
                if redirect is None:
                    return p.error("ERR value is not an integer or out of range")
                if redirect not in self.sessions:
                    return p.error("ERR The client ID you want redirect to does not exist")
            elif word in (b"BCAST", b"OPTIN", b"OPTOUT", b"NOLOOP"):
                options.add(word)
            elif word == b"PREFIX" and more:
                j += 1
                prefixes.append(args[j])
            else:
                return SYNTAX
            j += 1
        switch = keyword(args[2])
        state = session.tracking
        if switch == b"ON":
            if b"BCAST" not in options and prefixes:
                return p.error("ERR PREFIX option requires BCAST mode to be enabled")
            if state is not None and state.bcast != (b"BCAST" in options):
                return p.error("ERR You can't switch BCAST mode on/off before disabling "
                               "tracking for this client, and then re-enabling it with a "
                               "different mode.")
            if b"BCAST" in options and options & {b"OPTIN", b"OPTOUT"}:
                return p.error("ERR OPTIN and OPTOUT are not compatible with BCAST")
            if {b"OPTIN", b"OPTOUT"} <= options:
                return p.error("ERR You can't specify both OPTIN mode and OPTOUT mode")
            if state is not None and ((b"OPTIN" in options and state.optout) or (
                    b"OPTOUT" in options and state.optin)):
                return p.error("ERR You can't switch OPTIN/OPTOUT mode before disabling "
                               "tracking for this client, and then re-enabling it with a "
                               "different mode.")
            if b"BCAST" in options:
                held = state.prefixes if state is not None else ()
                overlap = prefix_overlap(prefixes, held)
                if overlap is not None:
                    return overlap
                prefixes = [*held, *(prefixes or ([] if held else [b""]))]
            self.tracking.enable(session, TrackingState(
                redirect, b"BCAST" in options, b"OPTIN" in options, b"OPTOUT" in options,
                b"NOLOOP" in options, tuple(prefixes)))
            self.watch_changes()
        elif switch == b"OFF":
            self.tracking.disable(session)
            self.watch_changes()
        else:
            return SYNTAX
        return p.OK

    def _client_caching(self, session, args) -> bytes:
        state = session.tracking
        if state is None:
            return p.error("ERR CLIENT CACHING can be called only when the client is in "
                           "tracking mode with OPTIN or OPTOUT mode enabled")
        choice = keyword(args[2])
        if choice == b"YES":
            if not state.optin:
                return p.error("ERR CLIENT CACHING YES is only valid when tracking is "
                               "enabled in OPTIN mode.")
        elif choice == b"NO":
            if not state.optout:
                return p.error("ERR CLIENT CACHING NO is only valid when tracking is "
                               "enabled in OPTOUT mode.")
        else:
            return SYNTAX
        state.caching = True
        return p.OK

    def _client_line(self, session) -> str:
        """One client as CLIENT INFO and CLIENT LIST describe it (the fields of
        Redis' that mean something here)."""
        name = text(session.name) if session.name else ""
        now = self._clock.seconds()
        age = int(now - session.created)
        idle = age if not session.last_active else (
            (perf_counter_ns() - session.last_active) // 1_000_000_000)
        flags = ("x" if session.multi is not None else "") + ("e" if session.no_evict else "") \
            + ("P" if session.channels or session.patterns else "")
        multi = -1 if session.multi is None else len(session.multi)
        return (f"id={session.id} addr={session.address} name={name} age={age} idle={idle} "
                f"flags={flags or 'N'} db=0 sub={len(session.channels)} "
                f"psub={len(session.patterns)} multi={multi} "
                f"cmd={text(session.last_command)} user=default resp={3 if session.resp3 else 2} "
                f"lib-name={text(session.lib_name)} lib-ver={text(session.lib_version)}")

    def _client_list(self, args) -> bytes:
        """CLIENT LIST [TYPE normal] [ID id ...]: every connection, a line each."""
        sessions = list(self.sessions.values())
        if len(args) > 2:
            option = keyword(args[2])
            if option == b"ID" and len(args) > 3:
                wanted = set()
                for raw in args[3:]:
                    number = parse_int(raw)
                    if number is None or number <= 0:
                        return p.error("ERR Invalid client ID")
                    wanted.add(number)
                sessions = [s for s in sessions if s.id in wanted]
            elif option == b"TYPE" and len(args) == 4:
                if not _normal(args[3]):
                    sessions = []
            else:
                return SYNTAX
        return p.bulk("".join(self._client_line(s) + "\n" for s in sessions).encode())

    def _client_kill(self, session, args) -> bytes:
        """CLIENT KILL ip:port, or CLIENT KILL [ID id] [ADDR ip:port] [LADDR ip:port]
        [USER name] [TYPE type] [SKIPME yes|no]: the clients every filter matches."""
        if len(args) == 3:  # the old form: one address, OK or an error
            victims = [s for s in self.sessions.values() if s.address == text(args[2])]
            if not victims:
                return p.error("ERR No such client")
            self._kill(session, victims)
            return p.OK
        if len(args) % 2:
            return SYNTAX
        ids, address, local, skip_me, kinds_match = None, None, None, True, True
        for option, value in zip(args[2::2], args[3::2], strict=True):
            option = keyword(option)
            if option == b"ID":
                number = parse_int(value)
                if number is None or number <= 0:
                    return p.error("ERR client-id should be greater than 0")
                ids = number
            elif option == b"ADDR":
                address = text(value)
            elif option == b"SKIPME":
                flag = keyword(value)
                if flag not in (b"YES", b"NO"):
                    return SYNTAX
                skip_me = flag == b"YES"
            elif option == b"LADDR":
                local = text(value)
            elif option == b"USER":  # (every client is the default user)
                if value != b"default":
                    return p.error("ERR No such user '%s'" % text(value))
            elif option == b"TYPE":
                kinds_match = kinds_match and _normal(value)
            else:
                return SYNTAX
        victims = [s for s in self.sessions.values()
                   if kinds_match and (ids is None or s.id == ids)
                   and (address is None or s.address == address)
                   and (local is None or s.local_address == local)
                   and not (skip_me and s is session)]
        self._kill(session, victims)
        return p.integer(len(victims))

    @staticmethod
    def _kill(session, victims) -> None:
        for victim in victims:
            if victim is session:
                victim.closing = True  # after this reply, as Redis does
            elif victim.disconnect is not None:
                victim.disconnect()

    def cmd_command(self, session, args):
        if len(args) == 1:
            return p.array([info_reply(name) for name in COMMANDS])
        sub = keyword(args[1])
        if sub == b"COUNT" and len(args) == 2:
            return p.integer(len(COMMANDS))
        if sub == b"DOCS":
            return docs_reply([text(a.lower()) for a in args[2:]] or list(COMMANDS))
        if sub == b"INFO":
            names = [text(a.lower()) for a in args[2:]] or list(COMMANDS)
            return p.array([info_reply(n) if n in COMMANDS else session.nil
                            for n in names])
        if sub == b"LIST" and len(args) == 2:
            return p.bulk_array([n.encode() for n in COMMANDS])
        return p.error("ERR unknown subcommand '%s'. Try COMMAND HELP." % text(args[1])[:128])

    def cmd_help(self, session, args):
        lines = ["geolru region %s: Redis-compatible commands:" % self.name]
        lines += ["  %s (arity %d)" % (n.upper(), a) for n, a in COMMANDS.items()]
        return p.array([p.simple(line) for line in lines])
