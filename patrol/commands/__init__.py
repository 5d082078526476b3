"""The ``patrol`` command line, one module per command (rasterio's ``rio/`` is the model).

Each module holds one command (or one group, ``prompts``): it parses its options, calls the library
and renders what the user sees. Shared options and the one-line error handling are defined once in
:mod:`patrol.commands.options`; heavy modules are imported inside the command functions, so ``patrol
--help`` stays fast. ``cli.py`` at the top of the checkout assembles the commands into one app.
"""
