# The part of the install that runs ON the target machine. It is never stored there: the sender
# (install.sh in the Job, or direct mode in the workflow's Lambda) writes this text, then one line
# calling penetrator_remote, to the stdin of `sh -s` over SSH. Both senders build that line the same
# way (see installer/README.md, "The remote part"):
#
#   penetrator_remote arch
#   penetrator_remote tmpdir
#   penetrator_remote join INSTALLER SERVER CA_HASH NODE_NAME PACKAGE DIR SHA256 <<'PENETRATOR_TOKEN'
#   <token>
#   PENETRATOR_TOKEN
#   penetrator_remote cleanup DIR
#
# Every argument is one single-quoted word. The join token arrives as a here-document on the same
# stdin, so it is on no command line on the sending side, and it is read only after the shell has
# parsed the call (shells such as dash read stdin in blocks, so a plain `read` could not find it).
# Only functions are defined above the call: nothing runs before the whole text has been read.
#
# Exit codes: 0 done; 11 reset failed; 12 join failed; 13 unsupported architecture (stdout names
# it); 14 no temporary directory; 15 invalid arguments; 16 another install holds the machine; 17 the
# machine lacks flock or setsid; 18 the package's bytes differ from its sha256 (nothing ran). They avoid 1-6 (sshpass's own) and 255 (ssh's).
#
# One install per machine: reset and join run under an exclusive flock on a fixed path, whichever
# task, attempt or mode asks, so a second install waits briefly for a dying one and then refuses.
# And the join ends with the SSH session: a session without a terminal gets no hangup when the
# sender dies (a killed Pod, a Lambda that timed out), so a watcher ends the join's process group
# once the sshd process that serves this session is gone.

# A non-login shell may lack the sbin directories where installers live; appended, so the login's
# own PATH still decides which program a name means.
penetrator_path() {
  PATH=$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  export PATH
}

# penetrator_arch_of UNAME_M: the package architecture for a `uname -m` output.
penetrator_arch_of() {
  case $(printf '%s' "$1" | tr -d '\r\n ') in
    x86_64) printf 'amd64' ;;
    aarch64) printf 'arm64' ;;
    *) return 1 ;;
  esac
}

# Prints "<uname -m> <arch>"; an unsupported machine prints "<uname -m>" and exits 13.
penetrator_arch() {
  pa_machine=$(uname -m) || exit 13
  pa_machine=$(printf '%s' "$pa_machine" | tr -d '\r\n')
  if pa_arch=$(penetrator_arch_of "$pa_machine"); then
    printf '%s %s\n' "$pa_machine" "$pa_arch"
    exit 0
  fi
  printf '%s\n' "$pa_machine"
  exit 13
}

# An unpredictable directory only the login user can enter, for the install package.
penetrator_tmpdir() {
  pt_dir=$(umask 077 && mktemp -d /tmp/penetrator-XXXXXXXX </dev/null) || exit 14
  printf '%s\n' "$pt_dir"
}

# penetrator_is_tmpdir DIR: whether DIR is one penetrator_tmpdir made (the only thing removed).
penetrator_is_tmpdir() {
  case $1 in
    /tmp/penetrator-*) ;;
    *) return 1 ;;
  esac
  case ${1#/tmp/penetrator-} in
    '' | *[!A-Za-z0-9]*) return 1 ;;
  esac
}

penetrator_cleanup() {
  [ -z "$1" ] || penetrator_is_tmpdir "$1" || exit 15
  [ -z "$1" ] || rm -rf -- "$1"
}

# penetrator_join_config SERVER CA_HASH NODE_NAME TOKEN: a kubeadm JoinConfiguration. Every value was
# checked to hold only characters that need no quoting in YAML.
penetrator_join_config() {
  printf 'apiVersion: kubeadm.k8s.io/v1beta3\nkind: JoinConfiguration\n'
  printf 'discovery:\n  bootstrapToken:\n    apiServerEndpoint: "%s"\n    token: "%s"\n' "$1" "$4"
  printf '    caCertHashes:\n      - "%s"\nnodeRegistration:\n  name: "%s"\n' "$2" "$3"
}

# penetrator_join INSTALLER SERVER CA_HASH NODE_NAME PACKAGE DIR SHA256, the token on stdin: reset,
# join, remove DIR whatever happened. PACKAGE is empty with kubeadm, and so may DIR be (one is made
# then). A PACKAGE whose bytes differ from SHA256 stops everything before the reset: it arrived over
# a path the sender's own check cannot see.
# The token reaches the installer in a join configuration file in DIR (mode 0600, DIR 0700), written
# by the shell's own printf: it is on no command line, not even sudo's log.
penetrator_join() {
  pj_installer=$1 pj_server=$2 pj_hash=$3 pj_node=$4 pj_package=$5 pj_dir=$6 pj_sha256=$7
  token=
  IFS= read -r token || [ -n "$token" ] || token=
  case $pj_installer in edgeadm | kubeadm) ;; *) exit 15 ;; esac
  case $token in
    [a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9].[a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9]) ;;
    *)
      printf 'the join token is not a bootstrap token\n' >&2
      exit 15
      ;;
  esac
  case $pj_server in '' | *[!A-Za-z0-9.:[\]-]*) exit 15 ;; esac
  case $pj_hash in sha256:*) ;; *) exit 15 ;; esac
  case ${pj_hash#sha256:} in '' | *[!0-9a-f]*) exit 15 ;; esac
  case $pj_node in '' | *[!a-z0-9.-]*) exit 15 ;; esac
  [ -z "$pj_dir" ] || penetrator_is_tmpdir "$pj_dir" || exit 15
  case $pj_sha256 in *[!0-9a-f]*) exit 15 ;; esac
  [ -z "$pj_sha256" ] || [ "${#pj_sha256}" = 64 ] || exit 15
  if [ -n "$pj_package" ] && [ -n "$pj_sha256" ]; then
    pj_found=$(sha256sum -- "$pj_package" 2>/dev/null) || pj_found=
    pj_found=${pj_found%% *}
    if [ "$pj_found" != "$pj_sha256" ]; then
      printf 'expected %s, found %s\n' "$pj_sha256" "${pj_found:-nothing}" >&2
      penetrator_cleanup "$pj_dir"
      exit 18
    fi
  fi
  [ -n "$pj_dir" ] || pj_dir=$(umask 077 && mktemp -d /tmp/penetrator-XXXXXXXX </dev/null) || exit 14
  pj_config=$pj_dir/join-configuration.yaml
  if ! (umask 077 && penetrator_join_config "$pj_server" "$pj_hash" "$pj_node" "$token" >"$pj_config"); then
    penetrator_cleanup "$pj_dir"
    exit 14
  fi
  set -- --config "$pj_config"
  [ "$pj_installer" != edgeadm ] || set -- "$@" --install-pkg-path "$pj_package"
  sudo=
  [ "$(id -u)" = 0 ] || sudo='sudo -n'
  penetrator_locked "$pj_installer" "$@"
  rc=$?
  penetrator_cleanup "$pj_dir"
  if [ "$rc" = 16 ]; then
    printf 'another install is running on this machine (it holds %s)\n' "$PENETRATOR_MACHINE_LOCK" >&2
  fi
  exit "$rc"
}

# The lock's path (fixed; the variable exists for the installer's own unit tests, which run this
# script on the test host) and how long a second install waits for the holder to end: long enough
# for an install whose session just died to be stopped by its watcher.
PENETRATOR_MACHINE_LOCK=${PENETRATOR_MACHINE_LOCK:-/run/penetrator-join.lock}
PENETRATOR_LOCK_WAIT_SECONDS=${PENETRATOR_LOCK_WAIT_SECONDS:-20}

# penetrator_session: the pid of the nearest sshd process above this shell (the login shell may sit
# between), or the parent when there is none.
penetrator_session() {
  ps_pid=$PPID
  ps_depth=0
  while [ "$ps_depth" -lt 5 ] && [ -r "/proc/$ps_pid/stat" ]; do
    case $(cat "/proc/$ps_pid/comm" 2>/dev/null) in
      sshd*)
        printf '%s\n' "$ps_pid"
        return 0
        ;;
    esac
    # The field after "(comm) state"; comm itself may hold spaces or parentheses.
    ps_pid=$(sed 's/^.*) [A-Za-z] \([0-9]*\) .*$/\1/' "/proc/$ps_pid/stat" 2>/dev/null)
    case $ps_pid in '' | *[!0-9]* | 0 | 1) break ;; esac
    ps_depth=$((ps_depth + 1))
  done
  printf '%s\n' "$PPID"
}

# penetrator_watch SESSION GROUP: once SESSION is gone, ends process group GROUP (TERM, then KILL).
penetrator_watch() {
  while kill -0 "$1" 2>/dev/null; do sleep 1; done
  # shellcheck disable=SC2086 # $sudo is empty or two words on purpose
  $sudo kill -TERM "-$2" 2>/dev/null || exit 0
  sleep 10
  # shellcheck disable=SC2086
  $sudo kill -KILL "-$2" 2>/dev/null
  exit 0
}

# penetrator_locked INSTALLER ARGS...: reset and join under the machine's lock, in a process group of
# their own that the watcher ends with the session. flock keeps the lock while any process of the
# join lives; with another holder it waits, then exits 16.
penetrator_locked() {
  if ! command -v flock >/dev/null 2>&1 || ! command -v setsid >/dev/null 2>&1; then
    printf 'the target has no flock or setsid (util-linux): its install lock cannot be held\n' >&2
    return 17
  fi
  pl_session=$(penetrator_session)
  # shellcheck disable=SC2086,SC2016 # $sudo is empty or two words; the inner script is literal
  setsid -w $sudo flock -x -w "$PENETRATOR_LOCK_WAIT_SECONDS" -E 16 "$PENETRATOR_MACHINE_LOCK" \
    sh -c 'cd / || exit 14; "$0" reset -f </dev/null || exit 11; "$0" join "$@" </dev/null || exit 12' \
    "$@" </dev/null &
  pl_group=$!
  # Off the session's pipes: sshd closes the session only once no process holds them.
  penetrator_watch "$pl_session" "$pl_group" </dev/null >/dev/null 2>&1 &
  pl_watcher=$!
  wait "$pl_group"
  pl_rc=$?
  kill "$pl_watcher" 2>/dev/null
  return "$pl_rc"
}

penetrator_remote() {
  penetrator_path
  pr_action=${1:-}
  [ $# -eq 0 ] || shift
  case $pr_action in
    arch) penetrator_arch ;;
    tmpdir)
      penetrator_tmpdir
      exit 0
      ;;
    join)
      [ $# -eq 7 ] || exit 15
      penetrator_join "$@"
      ;;
    cleanup)
      [ $# -eq 1 ] || exit 15
      penetrator_cleanup "$1"
      exit 0
      ;;
  esac
  exit 15
}
