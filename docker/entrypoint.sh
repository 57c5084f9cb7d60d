#!/bin/sh
# The image's entrypoint: `arbitrage run` (the default command) first brings the database to the current schema,
# then the shell is replaced by the daemon (exec), so that the daemon is PID 1 and `docker stop`'s SIGTERM reaches
# it directly. Any other command (`list`, `subscribe ...`) is passed to `arbitrage` unchanged.
set -eu

if [ "$#" -eq 0 ]; then
    set -- run
fi

if [ "$1" = "run" ]; then
    case " $* " in
        # A standby starts while another daemon is using the database: it migrates only once it holds the lock.
        *" --standby "*) ;;
        *) arbitrage db upgrade ;;
    esac
fi

exec arbitrage "$@"
