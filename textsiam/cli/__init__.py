"""Command-line interface: ``textsiam SUBCOMMAND``. Each subcommand parses arguments and calls the library."""
