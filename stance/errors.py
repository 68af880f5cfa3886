"""The one exception type for problems a user can fix."""


class StanceError(Exception):
    """A problem caused by input, arguments or environment, with its fix in the message.

    The CLI prints these as one line and exits non-zero, without a traceback.
    """
