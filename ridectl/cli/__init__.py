"""The command line: Typer commands parse arguments and delegate to the core modules.

``main()`` is the console script. It runs Typer in non-standalone mode so that every problem,
whether a bad option caught by click or a ``RidectlError`` raised by the core, reaches the user
as one line on stderr (``error: ...``) with exit code 2, and never as a traceback.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer
from rich.markup import escape
from typer.core import TyperArgument, TyperOption

from ridectl import __version__
from ridectl.errors import ExitCode, RidectlError, is_interrupt, one_line
from ridectl.limits import INT16_MAX, INT32_MAX, SECONDS_MAX
from ridectl.output import console


def _flag_type(option: TyperOption, ctx: typer.Context) -> str | None:
    """Typer shows a value placeholder (``<bool>``) after on/off flags, which reads as if they
    took a value: show none for a flag. A bounded number reads ``<int>``, not ``<int range>``:
    its bounds follow it (``_range_text``)."""
    if option.is_flag:
        return None
    shown = _value_type(option, ctx)
    return None if shown is None else shown.replace(" range>", ">")


def _range_text(option: TyperOption) -> str | None:
    """An option's bounds as ``lo..hi`` beside its placeholder, short enough for an 80-column
    help. A bound at one of Kafka's protocol limits (int16, int32, or int32 milliseconds as
    seconds) is left out: it is the limit of what Kafka takes, not a choice of this option,
    and a value past it is refused with the bound named."""
    low, high = option.min, option.max
    if high is not None and (high >= INT32_MAX or high in (INT16_MAX, SECONDS_MAX)):
        high = None
    if high is None:
        return None if low is None or low <= 1 else f">={_number(low)}"
    return f"{'' if low is None else _number(low)}..{_number(high)}"


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


_value_type = TyperOption.display_type_rich
setattr(TyperOption, "display_type_rich", _flag_type)  # noqa: B010 (a method is replaced)
setattr(TyperOption, "_get_number_range_help_str", _range_text)  # noqa: B010 (as above)


def _argument_type(argument: TyperArgument, ctx: typer.Context) -> str | None:
    """Typer shows the Python type of an argument that takes several values (``<list[str]>``)
    even when its declaration names the value: a ``metavar`` stands alone, as for options."""
    return None if argument.metavar is not None else _argument_value_type(argument, ctx)


_argument_value_type = TyperArgument.display_type_rich
setattr(TyperArgument, "display_type_rich", _argument_type)  # noqa: B010 (a method is replaced)


def _new_app() -> typer.Typer:
    """The root app, with no command yet."""
    new = typer.Typer(
        name="ridectl",
        help="Show, on a real Apache Kafka cluster, when and why event order breaks.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        rich_markup_mode="rich",
    )
    new.callback()(_root)
    return new


def _version(value: bool) -> None:
    if value:
        from ridectl.versions import KAFKA_VERSION

        typer.echo(f"ridectl {__version__} (local broker: Apache Kafka {KAFKA_VERSION})")
        raise typer.Exit(ExitCode.OK)


def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Show, on a real Apache Kafka cluster, when and why event order breaks."""


#: The app of every command (``_register`` attaches them).
app = _new_app()

#: The modules of the commands, in the order the help lists them, with the commands each
#: attaches (``broker`` is a group of its own).
_MODULES: dict[str, tuple[str, ...]] = {
    "produce": ("produce",),
    "check": ("consume", "check"),
    "audit": ("audit",),
    "explain": ("explain",),
    "partition": ("partition",),
    "demo": ("demo",),
    "matrix": ("matrix",),
    "watch": ("watch",),
    "proxy": ("proxy",),
    "failover": ("failover",),
    "bench": ("bench",),
}

_registered = False


def _register() -> None:
    """Attach every command to ``app`` once (their modules import kafka-python lazily)."""
    global _registered
    if not _registered:
        from ridectl.cli import broker as broker_cli

        app.add_typer(broker_cli.app, name="broker")
        for module in _MODULES:
            importlib.import_module(f"ridectl.cli.{module}").register(app)
        _registered = True


def _app_for(argv: list[str]) -> typer.Typer:
    """The app to run ``argv``: one holding only the command it names, when it names one,
    so that a run does not import and build the dozen others (some 0.04 s of CPU); else
    ``app`` with every command (the help, a mistyped name, ``broker``)."""
    name = argv[0] if argv else ""
    for module, commands in _MODULES.items():
        if name in commands:
            one = _new_app()
            importlib.import_module(f"ridectl.cli.{module}").register(one)
            if name in {
                info.name or getattr(info.callback, "__name__", "")
                for info in one.registered_commands
            }:
                return one
    _register()
    return app


def fail(message: str, code: ExitCode = ExitCode.USAGE) -> None:
    console.err().print(
        f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False, soft_wrap=True
    )
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    run = _app_for(sys.argv[1:] if argv is None else argv)
    try:
        rv = run(args=argv, prog_name="ridectl", standalone_mode=False)
    except RidectlError as exc:
        fail(one_line(str(exc)), exc.code)
    except typer.TyperException as exc:
        # Typer's own (vendored click) usage errors: bad option values, unknown options, ...
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError":
            sys.exit(ExitCode.USAGE)  # Typer has printed the help; no command is a usage error
        where = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
        code = ExitCode.USAGE if ctx is not None else ExitCode(exc.exit_code)
        fail(f"{one_line(exc.format_message())}{where}", code)
    except (typer.Abort, KeyboardInterrupt):
        console.err().print("interrupted")
        sys.exit(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        # The reader of our stdout went away (e.g. `| head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(ExitCode.OK)
    except Exception as exc:
        if is_interrupt(exc):
            console.err().print("interrupted")
            sys.exit(ExitCode.INTERRUPTED)
        if os.environ.get("RIDECTL_DEBUG"):
            raise
        known = _client_error(exc)
        if known is not None:
            fail(one_line(str(known)), known.code)
        fail(
            f"unexpected {type(exc).__name__}: {one_line(str(exc)) or 'no message'} "
            "(set RIDECTL_DEBUG=1 to see the traceback, and please report it)",
            ExitCode.SOFTWARE,
        )
    if isinstance(rv, int) and rv:
        sys.exit(rv)


def _client_error(exc: Exception) -> RidectlError | None:
    """A Kafka client's exception that no command translated is still one known line.

    Only libraries already loaded are asked (an error cannot come from one that never was).
    The Java client's exceptions arrive as text from its process and are translated there."""
    from ridectl.clients.registry import CLIENTS

    for record in CLIENTS.values():
        if record.library is not None and record.library in sys.modules:
            known = record.uncaught_error(exc)
            if known is not None:
                return known
    return None
