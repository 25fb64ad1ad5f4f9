# The part of the install that runs ON the target machine. It is never stored there: the sender
# (install.sh in the Job, or direct mode in the workflow's Lambda) writes this text, then one line
# calling penetrator_remote, to the stdin of `sh -s` over SSH. Both senders build that line the same
# way (see installer/README.md, "The remote part"):
#
#   penetrator_remote arch
#   penetrator_remote tmpdir
#   penetrator_remote join INSTALLER SERVER CA_HASH NODE_NAME PACKAGE DIR <<'PENETRATOR_TOKEN'
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
# it); 14 no temporary directory; 15 invalid arguments. They avoid 1-6 (sshpass's own) and 255 (ssh's).

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

# penetrator_join INSTALLER SERVER CA_HASH NODE_NAME PACKAGE DIR, the token on stdin: reset, join,
# remove DIR whatever happened. PACKAGE is empty with kubeadm, and so may DIR be (one is made then).
# The token reaches the installer in a join configuration file in DIR (mode 0600, DIR 0700), written
# by the shell's own printf: it is on no command line, not even sudo's log.
penetrator_join() {
  pj_installer=$1 pj_server=$2 pj_hash=$3 pj_node=$4 pj_package=$5 pj_dir=$6
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
  rc=
  # shellcheck disable=SC2086 # $sudo is empty or two words on purpose
  (cd / && $sudo "$pj_installer" reset -f) </dev/null || rc=11
  if [ -z "$rc" ]; then
    # shellcheck disable=SC2086
    (cd / && $sudo "$pj_installer" join "$@") </dev/null || rc=12
  fi
  penetrator_cleanup "$pj_dir"
  exit "${rc:-0}"
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
      [ $# -eq 6 ] || exit 15
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
