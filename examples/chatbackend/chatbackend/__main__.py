"""``python -m chatbackend``: start the server."""

from chatbackend.server import main

if __name__ == "__main__":
    main()
