"""The ``emtool`` command: a click group whose subcommands are imported only when used, so that
``emtool --help`` and ``emtool models`` start fast.  Every error leaves as one line on stderr."""

import importlib
import sys
import traceback
import warnings

import click

from emcli import __version__

COMMANDS = {
    "fit": "emcli.cli.fit:fit",
    "impute": "emcli.cli.impute:impute",
    "predict": "emcli.cli.predict:predict",
    "models": "emcli.cli.models:models",
    "sample": "emcli.cli.sample:sample",
    "select-k": "emcli.cli.select_k:select_k",
    "compress": "emcli.cli.compress:compress",
    "decompress": "emcli.cli.decompress:decompress",
    "export": "emcli.cli.export:export",
    "plot": "emcli.cli.plot:plot",
    "describe": "emcli.cli.describe:describe",
    "sample-data": "emcli.cli.sample_data:sample_data",
}


class EmtoolGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name].split(":")
        return getattr(importlib.import_module(module), attr)

    def _memory_hint(self, args: list) -> str:
        """What may help a command that ran out of memory: a smaller --chunk-bytes where the
        command takes it."""
        name = next((arg for arg in args if arg in COMMANDS), None)
        if name is None:
            return ""
        command = self.get_command(None, name)
        if any(param.name == "chunk_bytes" for param in command.params):
            return "; try a smaller --chunk-bytes or fewer rows"
        return ""

    def main(self, args=None, prog_name=None, standalone_mode=True, **extra):
        """Run the command; map every failure to one line on stderr and an exit status:
        0 success, 1 the computation (or a write) failed, 2 bad usage or bad input, 3 an unsound
        fit under --strict, 128 + N a signal N before any output was in place, 141 standard
        output closed early."""
        from emcli import console
        from emcli.cli import signals
        from emcli.errors import Stopped

        previous = signals.install()
        try:
            self._run(args, prog_name, **extra)
        except Stopped as exc:  # whenever it arrives, also before _run's own handling begins
            console.error(signals.message(exc))
            sys.exit(128 + exc.signum)
        finally:
            signals.finish(previous)

    def _run(self, args, prog_name, **extra):
        from emcli import console
        from emcli.errors import EmtoolError, PipeClosed
        from emcli.io import streams

        streams.forget()

        try:
            status = click.Group.main(self, args=args, prog_name=prog_name or "emtool",
                                      standalone_mode=False, **extra)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            console.error("interrupted")
            sys.exit(130)
        except click.exceptions.NoArgsIsHelpError as exc:
            # bare `emtool`: what a person typing it wants is the help, not an error
            click.echo(exc.ctx.get_help())
            sys.exit(0)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            console.error(exc.format_message().replace("\n", " ") + hint)
            sys.exit(2)
        except click.ClickException as exc:
            console.error(exc.format_message().replace("\n", " "))
            sys.exit(exc.exit_code)
        except PipeClosed as exc:
            sys.exit(exc.exit_code)
        except EmtoolError as exc:
            if console.verbose():
                traceback.print_exc()
            console.error(str(exc))
            sys.exit(exc.exit_code)
        except MemoryError:
            console.error("out of memory" + self._memory_hint(sys.argv[1:] if args is None else args))
            sys.exit(1)
        except KeyboardInterrupt:
            console.error("interrupted")
            sys.exit(130)
        except BrokenPipeError:
            sys.exit(141)
        except OSError as exc:
            # a write that failed (a full disk, a file-size limit, a closed stdout): the output
            # is absent (files are renamed into place only when complete), say why in one line
            if console.verbose():
                traceback.print_exc()
            where = exc.filename if exc.filename not in (None, "<stdout>") else "standard output"
            console.error(f"cannot write {where}: {exc.strerror or exc}")
            sys.exit(1)
        console.flush()
        sys.exit(status if isinstance(status, int) else 0)


@click.group(cls=EmtoolGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="emtool", message="%(prog)s %(version)s")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.option("-v", "--verbose", is_flag=True, help="Print notes, and tracebacks with errors.")
def cli(quiet, verbose):
    """Fit latent-variable models by Expectation-Maximization.

    Reads CSV, TSV or Parquet (or CSV on stdin as '-'), writes fitted models as JSON.

    \b
    Examples:
      emtool fit sample_data/faithful.csv -m gmm -k 3 --covariance tied -o faithful.json
      emtool predict faithful.json sample_data/faithful.csv --proba -o labelled.csv
      emtool models
    """
    from emcli import console

    console.configure(quiet=quiet, verbose=verbose)
    if not verbose:
        # NumPy's floating-point warnings (overflow, 0/0) are not messages for a user: every
        # result that reaches an output is checked for finiteness, and -v still shows them
        warnings.filterwarnings("ignore", category=RuntimeWarning)


def main():
    from emcli.cli import signals

    # Handled for the life of the process, not only the command's: a signal after the command
    # is done must not kill it on its way out with another status than the command's.
    signals.install()
    try:
        cli.main(prog_name="emtool")
    finally:
        signals.block()
