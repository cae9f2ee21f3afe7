"""emtool sample-data: the sample data the README's and the manual's examples read, copied
from where emtool was installed into a directory of the user's."""

import os
from pathlib import Path

import click

from emcli.cli import options

#: what the sample data directory holds besides the scripts' byte code
SAMPLE_SUFFIXES = (".csv", ".dot", ".png", ".py", ".md")


@options.command("sample-data")
@click.argument("directory", metavar="DIR")
@options.verbosity
def sample_data(directory):
    """Copy the sample data into DIR (made if absent): faithful.csv, blobs.csv, survey.csv,
    network.csv and the rest, each file's source in its README.md. The examples in the README
    and in every command's --help read them from sample_data/, so run them where DIR is
    sample_data. A file of the same name already in DIR is an error, and nothing is copied.

    \b
    Examples:
      emtool sample-data samples
      emtool fit samples/faithful.csv -k 2 -o two.json
    """
    from emcli.errors import UsageError
    from emcli.io.atomic import write_all

    files = sample_files()
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise UsageError(f"{directory}: not a directory")
    taken = [path.name for path in files if os.path.lexists(os.path.join(directory, path.name))]
    if taken:
        raise UsageError(f"{os.path.join(directory, taken[0])} exists; give a new or empty directory")
    os.makedirs(directory, exist_ok=True)
    write_all([(os.path.join(directory, path.name), path.read_bytes()) for path in files])


def sample_files() -> list:
    """The installed sample data files, by name: those the installed distribution lists under
    share/emtool/sample_data (pip install . puts them in PREFIX/share), or, in a source checkout
    installed for development (pip install -e ., which installs no data files), the
    repository's sample_data directory."""
    from importlib.metadata import PackageNotFoundError, distribution

    from emcli.errors import UsageError

    try:
        listed = distribution("emtool").files or []
        found = [Path(distribution("emtool").locate_file(name)) for name in listed
                 if "share/emtool/sample_data/" in name.as_posix() and name.suffix in SAMPLE_SUFFIXES]
    except PackageNotFoundError:
        found = []
    if not found:
        checkout = Path(__file__).resolve().parents[2] / "sample_data"
        found = [path for path in checkout.glob("*") if path.suffix in SAMPLE_SUFFIXES]
    found = sorted((path for path in found if path.is_file()), key=lambda path: path.name)
    if not found:
        raise UsageError("no sample data was installed with emtool; reinstall it with pip install emtool")
    return found
