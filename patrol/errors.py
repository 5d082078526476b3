"""One exception family. Messages name the file, feature or mission item and say what to do."""


class PatrolError(Exception):
    """Base of every error patrol raises on purpose; the CLI prints it as one line."""

    exit_code = 2


class InputError(PatrolError):
    """An input file or one of its features is unusable (the message names which, and the fix)."""


class PlanningError(PatrolError):
    """The parameters make a safe, audible patrol impossible (e.g. altitude too high to be heard)."""


class SafetyError(PatrolError):
    """A route or mission would break a geofence, a no-fly zone or an altitude limit."""


class CoverageShortfallError(PatrolError):
    """An audit found compounds that heard too little of the warning (exit status 3)."""

    exit_code = 3


class LedgerError(PatrolError):
    """The ledger cannot be used: unreachable, damaged, of a newer schema, or not a patrol ledger (exit status 4)."""

    exit_code = 4
