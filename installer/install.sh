#!/bin/sh
# Joins one machine to the cluster over SSH. Runs in the install Job on the proxy node, or wherever
# direct mode runs. Inputs (see installer/README.md and InstallEnv in lambdas/domain/contracts.ts):
#   PENETRATOR_TARGET_IP, PENETRATOR_NODE_NAME, PENETRATOR_SSH_USER, PENETRATOR_SSH_PORT,
#   PENETRATOR_INSTALLER (edgeadm|kubeadm), PENETRATOR_PARAMS_FILE (SERVER=, CA_HASH=, PACKAGE=,
#   PACKAGE_URL=, PACKAGE_SHA256= or PACKAGE_SHA256_AMD64=/PACKAGE_SHA256_ARM64= lines), PENETRATOR_CREDENTIAL_DIR (passwd or sshkey, token, optional known_hosts),
#   PENETRATOR_PACKAGE_PATH (overrides PACKAGE), PENETRATOR_TERMINATION_LOG (else /dev/termination-log),
#   PENETRATOR_REMOTE_SCRIPT (else remote.sh next to this script), PENETRATOR_PINNED_HOST_KEY
#   ("<type> <base64>": the only key the machine may present, besides those in known_hosts).
#
# What runs on the target is remote.sh, shared with direct mode: each step sends its text plus one
# call line to `ssh … sh -s`, so the remote command line is always just `sh -s`.
# Secrets stay in files and on stdin: the password goes to sshpass -f, the key to ssh -i, the join
# token to the remote shell's stdin. None of them appears in this machine's process list or in output.
# Every value placed in a call line goes through sq. On failure one line "<step>: <reason>" goes
# to the termination log and to stderr, and the exit code says which kind of failure it was.

set -u
umask 077

EXIT_INVALID_INPUT=2
EXIT_UNREACHABLE=3
EXIT_UNSUPPORTED=4
EXIT_INSTALL_FAILED=5
EXIT_PACKAGE_MISMATCH=6

# remote.sh's own exit codes (see its header).
REMOTE_RESET_FAILED=11
REMOTE_JOIN_FAILED=12
REMOTE_UNSUPPORTED=13
REMOTE_BUSY=16
REMOTE_PACKAGE_MISMATCH=18

SSH_CONNECT_TIMEOUT=${PENETRATOR_SSH_CONNECT_TIMEOUT:-15}
WORK_DIR=
REMOTE_DIR=
TOKEN=
JOIN_PID=
PINNED_HOST_KEY=
NODE_LABEL=${PENETRATOR_NODE_NAME:-install}

# sq VALUE: VALUE as one single-quoted shell word, every ' written as '\''. Pure shell, so newlines
# and trailing newlines survive.
sq() {
  sq_rest=$1
  sq_out=
  while :; do
    case $sq_rest in
      *"'"*)
        sq_out="$sq_out${sq_rest%%"'"*}'\\''"
        sq_rest=${sq_rest#*"'"}
        ;;
      *) break ;;
    esac
  done
  printf "'%s%s'" "$sq_out" "$sq_rest"
}

progress() {
  printf '[%s] %s\n' "$NODE_LABEL" "$*"
}

# The file the kubelet turns into the container's termination message (the failure reason).
termination_log() {
  if [ -n "${PENETRATOR_TERMINATION_LOG:-}" ]; then
    printf '%s\n' "$PENETRATOR_TERMINATION_LOG"
  elif [ -f /dev/termination-log ] && [ -w /dev/termination-log ]; then
    printf '%s\n' /dev/termination-log
  fi
}

# redact TEXT: TEXT without the join token (the only secret that could be echoed back by a tool).
redact() {
  if [ -n "$TOKEN" ]; then
    # The token is [a-z0-9.] only (checked in read_credential), so it is safe inside a sed pattern.
    printf '%s' "$1" | sed "s/$TOKEN/<token>/g"
  else
    printf '%s' "$1"
  fi
}

# fail STEP REASON [EXIT]: reports one line and stops.
fail() {
  fail_line=$(redact "$1: $2" | tr '\r\n' '  ')
  printf '%s\n' "$fail_line" >&2
  fail_log=$(termination_log)
  if [ -n "$fail_log" ]; then
    printf '%s\n' "$fail_line" >"$fail_log" 2>/dev/null || true
  fi
  exit "${3:-$EXIT_INSTALL_FAILED}"
}

# ---------------------------------------------------------------------------------------------------
# Inputs

# One `KEY=value` per line; nothing is evaluated, so `SERVER=$(reboot)` stays those characters.
read_params() {
  rp_file=$1
  P_SERVER=
  P_CA_HASH=
  P_PACKAGE=
  P_PACKAGE_URL=
  P_PACKAGE_SHA256=
  P_PACKAGE_SHA256_AMD64=
  P_PACKAGE_SHA256_ARM64=
  [ -r "$rp_file" ] || fail params "cannot read the params file $rp_file" "$EXIT_INVALID_INPUT"
  while IFS= read -r rp_line || [ -n "$rp_line" ]; do
    case $rp_line in
      '' | '#'*) continue ;;
      *=*) ;;
      *) fail params "line \"$rp_line\" is not KEY=value" "$EXIT_INVALID_INPUT" ;;
    esac
    rp_value=${rp_line#*=}
    case ${rp_line%%=*} in
      SERVER) P_SERVER=$rp_value ;;
      CA_HASH) P_CA_HASH=$rp_value ;;
      PACKAGE) P_PACKAGE=$rp_value ;;
      PACKAGE_URL) P_PACKAGE_URL=$rp_value ;;
      PACKAGE_SHA256) P_PACKAGE_SHA256=$rp_value ;;
      PACKAGE_SHA256_AMD64) P_PACKAGE_SHA256_AMD64=$rp_value ;;
      PACKAGE_SHA256_ARM64) P_PACKAGE_SHA256_ARM64=$rp_value ;;
      *) printf 'params: ignoring unknown key %s\n' "${rp_line%%=*}" >&2 ;;
    esac
  done <"$rp_file"
  check_params
}

check_params() {
  case $P_SERVER in
    '' | *[!]A-Za-z0-9.:[-]* | *: | :*) fail params "SERVER \"$P_SERVER\" is not host:port" "$EXIT_INVALID_INPUT" ;;
    *:*[0-9]) ;;
    *) fail params "SERVER \"$P_SERVER\" is not host:port" "$EXIT_INVALID_INPUT" ;;
  esac
  cp_hex=${P_CA_HASH#sha256:}
  case $P_CA_HASH in
    sha256:*) ;;
    *) fail params "CA_HASH is not sha256:<64 hex digits>" "$EXIT_INVALID_INPUT" ;;
  esac
  case $cp_hex in
    *[!0-9a-f]*) fail params "CA_HASH is not sha256:<64 hex digits>" "$EXIT_INVALID_INPUT" ;;
  esac
  [ "${#cp_hex}" = 64 ] || fail params "CA_HASH is not sha256:<64 hex digits>" "$EXIT_INVALID_INPUT"
  check_sha256_param PACKAGE_SHA256 "$P_PACKAGE_SHA256"
  check_sha256_param PACKAGE_SHA256_AMD64 "$P_PACKAGE_SHA256_AMD64"
  check_sha256_param PACKAGE_SHA256_ARM64 "$P_PACKAGE_SHA256_ARM64"
}

check_sha256_param() {
  [ -z "$2" ] || sha256_ok "$2" || fail params "$1 is not 64 lower-case hex digits" "$EXIT_INVALID_INPUT"
}

# sha256_ok VALUE: whether VALUE is a sha256 digest as sha256sum prints it.
sha256_ok() {
  case $1 in '' | *[!0-9a-f]*) return 1 ;; esac
  [ "${#1}" = 64 ]
}

# The sha256 the package for this architecture must have: its own, else the deployment's one value.
expected_sha256() {
  case $ARCH in
    amd64) es_sum=$P_PACKAGE_SHA256_AMD64 ;;
    arm64) es_sum=$P_PACKAGE_SHA256_ARM64 ;;
    *) es_sum= ;;
  esac
  printf '%s' "${es_sum:-$P_PACKAGE_SHA256}"
}

# check_package FILE SHA256: stops, before anything runs on the target, when FILE's bytes differ.
# A downloaded file that differs is removed, so that the next Job fetches it again.
check_package() {
  if [ -z "$2" ]; then
    if [ -n "$P_PACKAGE_SHA256_AMD64$P_PACKAGE_SHA256_ARM64" ]; then
      fail package "the install package $1 does not match its sha256 (none given for $ARCH)" "$EXIT_PACKAGE_MISMATCH"
    fi
    printf 'package: no sha256 given; %s is not checked\n' "$1" >&2
    return 0
  fi
  ck_sum=$(sha256sum -- "$1" 2>/dev/null) || ck_sum=
  ck_sum=${ck_sum%% *}
  [ "$ck_sum" != "$2" ] || return 0
  [ -z "$P_PACKAGE_URL" ] || rm -f -- "$1"
  fail package "the install package $1 does not match its sha256 (expected $2, found ${ck_sum:-nothing})" "$EXIT_PACKAGE_MISMATCH"
}

# The environment the Job builder sets; each value is checked before it is used anywhere.
read_env() {
  TARGET_IP=${PENETRATOR_TARGET_IP:-}
  NODE_NAME=${PENETRATOR_NODE_NAME:-}
  SSH_USER=${PENETRATOR_SSH_USER:-root}
  SSH_PORT=${PENETRATOR_SSH_PORT:-22}
  INSTALLER=${PENETRATOR_INSTALLER:-edgeadm}
  CREDENTIAL_DIR=${PENETRATOR_CREDENTIAL_DIR:-/opt/penetrator/credential}
  case $0 in
    */*) REMOTE_SCRIPT=${PENETRATOR_REMOTE_SCRIPT:-${0%/*}/remote.sh} ;;
    *) REMOTE_SCRIPT=${PENETRATOR_REMOTE_SCRIPT:-./remote.sh} ;;
  esac
  case $TARGET_IP in
    '' | *[!0-9A-Fa-f.:]*) fail input "PENETRATOR_TARGET_IP \"$TARGET_IP\" is not an IP address" "$EXIT_INVALID_INPUT" ;;
  esac
  case $NODE_NAME in
    '' | [!a-z0-9]* | *[!a-z0-9.-]*) fail input "PENETRATOR_NODE_NAME \"$NODE_NAME\" is not a node name" "$EXIT_INVALID_INPUT" ;;
  esac
  case $SSH_USER in
    '' | -* | *[!A-Za-z0-9_.-]*) fail input "PENETRATOR_SSH_USER \"$SSH_USER\" is not a user name" "$EXIT_INVALID_INPUT" ;;
  esac
  case $SSH_PORT in
    '' | *[!0-9]* | 0*) fail input "PENETRATOR_SSH_PORT \"$SSH_PORT\" is not a port" "$EXIT_INVALID_INPUT" ;;
  esac
  [ "$SSH_PORT" -le 65535 ] || fail input "PENETRATOR_SSH_PORT \"$SSH_PORT\" is not a port" "$EXIT_INVALID_INPUT"
  case $SSH_CONNECT_TIMEOUT in
    '' | *[!0-9]*) fail input "PENETRATOR_SSH_CONNECT_TIMEOUT \"$SSH_CONNECT_TIMEOUT\" is not a number of seconds" "$EXIT_INVALID_INPUT" ;;
  esac
  case $INSTALLER in
    edgeadm | kubeadm) ;;
    *) fail input "PENETRATOR_INSTALLER \"$INSTALLER\" is not edgeadm or kubeadm" "$EXIT_INVALID_INPUT" ;;
  esac
  [ -r "$REMOTE_SCRIPT" ] || fail input "cannot read the remote part of the installer at $REMOTE_SCRIPT" "$EXIT_INVALID_INPUT"
}

# Reads the credential directory into ssh options; the secret itself never leaves its file.
read_credential() {
  rc_dir=$CREDENTIAL_DIR
  [ -r "$rc_dir/token" ] || fail credential "no join token in $rc_dir" "$EXIT_INVALID_INPUT"
  IFS= read -r TOKEN <"$rc_dir/token" || [ -n "$TOKEN" ] || fail credential "the join token is empty" "$EXIT_INVALID_INPUT"
  case $TOKEN in
    [a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9].[a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9]) ;;
    *)
      TOKEN=
      fail credential "the join token is not a bootstrap token ([a-z0-9]{6}.[a-z0-9]{16})" "$EXIT_INVALID_INPUT"
      ;;
  esac
  if [ -s "$rc_dir/sshkey" ]; then
    # ssh refuses a key others can read, and Secret volumes are world-readable by default.
    cat "$rc_dir/sshkey" >"$WORK_DIR/key" || fail credential "cannot copy the SSH key" "$EXIT_INVALID_INPUT"
    [ -z "$(tail -c 1 "$WORK_DIR/key")" ] || printf '\n' >>"$WORK_DIR/key"
    chmod 600 "$WORK_DIR/key"
    AUTH=key
  elif [ -s "$rc_dir/passwd" ]; then
    command -v sshpass >/dev/null 2>&1 || fail credential "sshpass is not installed" "$EXIT_INVALID_INPUT"
    AUTH=password
  else
    fail credential "neither passwd nor sshkey in $rc_dir" "$EXIT_INVALID_INPUT"
  fi
  if [ -n "$PINNED_HOST_KEY" ]; then
    # The machine was installed before: the key it presented then, or one the operator gave.
    KNOWN_HOSTS=$WORK_DIR/known_hosts
    {
      [ ! -s "$rc_dir/known_hosts" ] || { cat "$rc_dir/known_hosts" && printf '\n'; }
      printf '%s %s\n' "$(known_hosts_name)" "$PINNED_HOST_KEY"
    } >"$KNOWN_HOSTS" || fail credential "cannot write known_hosts" "$EXIT_INVALID_INPUT"
    HOST_KEY_CHECK=yes
  elif [ -s "$rc_dir/known_hosts" ]; then
    KNOWN_HOSTS=$rc_dir/known_hosts
    HOST_KEY_CHECK=yes
  else
    KNOWN_HOSTS=$WORK_DIR/known_hosts
    HOST_KEY_CHECK=accept-new
    printf 'ssh: no known_hosts given; trusting the host key %s presents on first use\n' "$TARGET_IP" >&2
  fi
}

# The name known_hosts records the target under: the address, or [address]:port off port 22.
known_hosts_name() {
  if [ "$SSH_PORT" = 22 ]; then printf '%s' "$TARGET_IP"; else printf '[%s]:%s' "$TARGET_IP" "$SSH_PORT"; fi
}

# host_key_ok TYPE BASE64: whether the two fields can be a public key (they reach a file, never a shell).
host_key_ok() {
  case $1 in '' | *[!a-z0-9@.-]*) return 1 ;; esac
  case $2 in '' | *[!A-Za-z0-9+/=]*) return 1 ;; esac
  return 0
}

# The pin Start install found on the machine's Node, checked before it reaches known_hosts.
read_pinned_host_key() {
  PINNED_HOST_KEY=${PENETRATOR_PINNED_HOST_KEY:-}
  [ -n "$PINNED_HOST_KEY" ] || return 0
  host_key_ok "${PINNED_HOST_KEY%% *}" "${PINNED_HOST_KEY#* }" ||
    fail input "PENETRATOR_PINNED_HOST_KEY is not \"<type> <base64>\"" "$EXIT_INVALID_INPUT"
}

# After a join that trusted the key on first use: the key, as the termination message's last line,
# for Check install to pin on the Node. Later attempts and tasks accept only it.
report_host_key() {
  [ "$HOST_KEY_CHECK" = accept-new ] && [ -s "$KNOWN_HOSTS" ] || return 0
  read -r _ rh_type rh_key _ <"$KNOWN_HOSTS" || [ -n "${rh_key:-}" ] || return 0
  host_key_ok "$rh_type" "$rh_key" || return 0
  progress "pinned the $rh_type host key of $TARGET_IP: later tasks accept only it"
  rh_log=$(termination_log)
  [ -z "$rh_log" ] || printf 'host-key: %s %s\n' "$rh_type" "$rh_key" >"$rh_log" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------------
# SSH

# ssh_cmd [exec] PROGRAM ARGS...: runs ssh or scp with the task's authentication and bounded
# timeouts; with `exec`, in place of the calling (sub)shell, so that its pid is the program's.
ssh_cmd() {
  sc_exec=
  if [ "$1" = exec ]; then
    sc_exec='exec'
    shift
  fi
  sc_program=$1
  shift
  if [ "$sc_program" = scp ]; then sc_port_flag=-P; else sc_port_flag=-p; fi
  set -- "$sc_port_flag" "$SSH_PORT" \
    -o ConnectTimeout="$SSH_CONNECT_TIMEOUT" -o ServerAliveInterval=15 -o ServerAliveCountMax=4 \
    -o StrictHostKeyChecking="$HOST_KEY_CHECK" -o UserKnownHostsFile="$KNOWN_HOSTS" \
    -o GlobalKnownHostsFile=/dev/null -o HashKnownHosts=no -o LogLevel=ERROR "$@"
  # shellcheck disable=SC2086 # $sc_exec is empty or the one word exec
  if [ "$AUTH" = key ]; then
    $sc_exec "$sc_program" -o BatchMode=yes -o IdentitiesOnly=yes -o PreferredAuthentications=publickey \
      -i "$WORK_DIR/key" "$@"
  else
    $sc_exec sshpass -f "$CREDENTIAL_DIR/passwd" "$sc_program" -o PubkeyAuthentication=no \
      -o PreferredAuthentications=password,keyboard-interactive -o NumberOfPasswordPrompts=1 "$@"
  fi
}

# remote_input CALL [TOKEN]: what `sh -s` reads on the target: remote.sh, then the call line, then
# (for join) the here-document holding the token. Direct mode builds the same bytes
# (lambdas/direct/remote.ts).
remote_input() {
  cat "$REMOTE_SCRIPT"
  [ -z "$(tail -c 1 "$REMOTE_SCRIPT")" ] || printf '\n'
  printf '%s\n' "$1"
  [ $# -lt 2 ] || printf '%s\nPENETRATOR_TOKEN\n' "$2"
}

# remote STDOUT_FILE CALL: runs one call of remote.sh on the target; stderr goes to ssh.err.
remote() {
  remote_input "$2" | ssh_cmd ssh -l "$SSH_USER" "$TARGET_IP" 'sh -s' >"$1" 2>"$WORK_DIR/ssh.err"
}

# ssh_reason EXIT STDERR_FILE: a readable reason when the connection itself failed, else nothing.
# ssh reports its own failures with exit 255; sshpass adds 5 (wrong password) and 6 (unknown host
# key). Any other code is the remote command's, whose output may mention "refused" for other reasons.
ssh_reason() {
  case $1:$AUTH in
    255:*) ;;
    5:password)
      printf 'ssh: permission denied for %s@%s' "$SSH_USER" "$TARGET_IP"
      return 0
      ;;
    6:password)
      printf 'ssh: the host key of %s is not in known_hosts' "$TARGET_IP"
      return 0
      ;;
    *) return 0 ;;
  esac
  sr_err=$(sed '/^[[:space:]]*$/d' "$2" 2>/dev/null)
  case $sr_err in
    *'Permission denied'* | *'Too many authentication failures'*) printf 'ssh: permission denied for %s@%s' "$SSH_USER" "$TARGET_IP" ;;
    *'Connection refused'*) printf 'ssh: cannot reach %s:%s (connection refused)' "$TARGET_IP" "$SSH_PORT" ;;
    *'timed out'*) printf 'ssh: cannot reach %s:%s (timed out)' "$TARGET_IP" "$SSH_PORT" ;;
    *'No route to host'* | *'Network is unreachable'*) printf 'ssh: cannot reach %s:%s (no route)' "$TARGET_IP" "$SSH_PORT" ;;
    *'host key is known for'*) printf 'ssh: the host key of %s is not in known_hosts' "$TARGET_IP" ;;
    *'Host key verification failed'* | *'IDENTIFICATION HAS CHANGED'*) printf 'ssh: the host key of %s does not match known_hosts' "$TARGET_IP" ;;
    *'Connection closed'* | *'Connection reset'* | *'Broken pipe'*) printf 'ssh: the connection to %s:%s was lost' "$TARGET_IP" "$SSH_PORT" ;;
    '') printf 'ssh: failed without a message (exit 255)' ;;
    *) printf 'ssh: %s' "$(printf '%s\n' "$sr_err" | tail -n 1)" ;;
  esac
}

# check_ssh STEP EXIT: stops with a readable reason when the connection itself failed.
check_ssh() {
  cs_reason=$(ssh_reason "$2" "$WORK_DIR/ssh.err")
  [ -z "$cs_reason" ] || fail "$1" "$cs_reason" "$EXIT_UNREACHABLE"
}

# ---------------------------------------------------------------------------------------------------
# Steps

# The target maps `uname -m` itself (remote.sh): "<machine> <arch>", or exit 13 with the machine.
detect_arch() {
  progress 'detecting architecture…'
  remote "$WORK_DIR/uname.out" 'penetrator_remote arch'
  da_status=$?
  check_ssh arch "$da_status"
  da_line=$(tr -d '\r\n' <"$WORK_DIR/uname.out")
  da_machine=${da_line%% *}
  [ "$da_status" != "$REMOTE_UNSUPPORTED" ] || fail arch "unsupported architecture $da_line" "$EXIT_UNSUPPORTED"
  [ "$da_status" = 0 ] || fail arch "uname -m failed on the target (exit $da_status)"
  ARCH=${da_line#* }
  case $ARCH in
    amd64 | arm64) ;;
    *) fail arch "the target reported \"$da_line\" for its architecture" ;;
  esac
  progress "architecture $da_machine ($ARCH)"
}

# package_path: PACKAGE with {arch} replaced, so one task can serve amd64 and arm64 machines.
package_path() {
  pp_path=${PENETRATOR_PACKAGE_PATH:-$P_PACKAGE}
  while :; do
    case $pp_path in
      *'{arch}'*) pp_path="${pp_path%%"{arch}"*}$ARCH${pp_path#*"{arch}"}" ;;
      *) break ;;
    esac
  done
  printf '%s' "$pp_path"
}

# Fetches PACKAGE_URL once per proxy: a later Job finds the file in place.
fetch_package() {
  fp_path=$1
  [ -n "$P_PACKAGE_URL" ] && [ ! -s "$fp_path" ] || return 0
  progress 'downloading the install package…'
  fp_part="$fp_path.part.$$"
  # HTTPS only, redirects included: what runs as root on every target must not come in clear.
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --proto =https --proto-redir =https --max-time 1800 -o "$fp_part" -- "$P_PACKAGE_URL"
  else
    wget -q --https-only -T 60 -O "$fp_part" -- "$P_PACKAGE_URL"
  fi || {
    rm -f -- "$fp_part"
    fail package "cannot download $P_PACKAGE_URL"
  }
  mv -f -- "$fp_part" "$fp_path" || fail package "cannot store the package at $fp_path"
}

copy_package() {
  PACKAGE=$(package_path)
  REMOTE_PACKAGE=
  PACKAGE_SHA256=
  # kubeadm takes no package, whatever the deployment's source: nothing to fetch or copy.
  [ "$INSTALLER" != kubeadm ] || PACKAGE=
  if [ -z "$PACKAGE" ]; then
    [ "$INSTALLER" = kubeadm ] || fail package 'no install package given (PACKAGE)' "$EXIT_INVALID_INPUT"
    return 0
  fi
  fetch_package "$PACKAGE"
  if [ ! -f "$PACKAGE" ] || [ ! -r "$PACKAGE" ]; then
    fail package "install package $PACKAGE is not a readable file" "$EXIT_INVALID_INPUT"
  fi
  PACKAGE_SHA256=$(expected_sha256)
  check_package "$PACKAGE" "$PACKAGE_SHA256"
  progress 'copying the install package…'
  # mktemp on the target: an unpredictable directory that only the login user can enter.
  remote "$WORK_DIR/mktemp.out" 'penetrator_remote tmpdir'
  cp_status=$?
  check_ssh copy "$cp_status"
  cp_dir=$(tr -d '\r\n' <"$WORK_DIR/mktemp.out")
  [ "$cp_status" = 0 ] || fail copy "cannot create a temporary directory on the target (exit $cp_status)"
  case $cp_dir in
    /tmp/penetrator-*) ;;
    *) fail copy "mktemp on the target returned \"$cp_dir\"" ;;
  esac
  case ${cp_dir#/tmp/penetrator-} in
    '' | *[!A-Za-z0-9]*) fail copy "mktemp on the target returned \"$cp_dir\"" ;;
  esac
  REMOTE_DIR=$cp_dir
  REMOTE_PACKAGE="$REMOTE_DIR/${PACKAGE##*/}"
  case $TARGET_IP in *:*) cp_host="[$TARGET_IP]" ;; *) cp_host=$TARGET_IP ;; esac
  ssh_cmd scp -q -p -- "$PACKAGE" "$SSH_USER@$cp_host:$REMOTE_DIR/" </dev/null >/dev/null 2>"$WORK_DIR/ssh.err"
  cp_status=$?
  check_ssh copy "$cp_status"
  [ "$cp_status" = 0 ] || fail copy "scp of $PACKAGE failed: $(tail -n 1 "$WORK_DIR/ssh.err")"
}

# The call that resets and joins: every value one sq-quoted word, the token in the here-document
# that remote_input appends. The target checks the package against the same sha256 before the reset.
join_call() {
  printf 'penetrator_remote join %s %s %s %s %s %s %s <<%s' "$(sq "$INSTALLER")" "$(sq "$P_SERVER")" \
    "$(sq "$P_CA_HASH")" "$(sq "$NODE_NAME")" "$(sq "$REMOTE_PACKAGE")" "$(sq "$REMOTE_DIR")" \
    "$(sq "$PACKAGE_SHA256")" "'PENETRATOR_TOKEN'"
}

install_node() {
  progress "running $INSTALLER reset and join…"
  # In the background, so that a signal (the Pod being stopped) is handled at once instead of after
  # the join: the trap ends ssh, and the target's watcher then ends the join (remote.sh).
  remote_input "$(join_call)" "$TOKEN" | ssh_cmd exec ssh -l "$SSH_USER" "$TARGET_IP" 'sh -s' >"$WORK_DIR/install.out" 2>&1 &
  JOIN_PID=$!
  wait "$JOIN_PID"
  in_status=$?
  JOIN_PID=
  cp "$WORK_DIR/install.out" "$WORK_DIR/ssh.err"
  REMOTE_DIR= # the remote script removed it
  in_output=$(redact "$(cat "$WORK_DIR/install.out")")
  [ -z "$in_output" ] || printf '%s\n' "$in_output" | sed "s/^/[$NODE_LABEL] | /"
  in_last=$(printf '%s\n' "$in_output" | sed '/^[[:space:]]*$/d' | tail -n 1)
  case $in_status in
    0) ;;
    "$REMOTE_RESET_FAILED") fail reset "$INSTALLER reset -f failed: ${in_last:-no output}" ;;
    "$REMOTE_JOIN_FAILED") fail join "$INSTALLER join failed: ${in_last:-no output}" ;;
    "$REMOTE_BUSY") fail join 'another install is running on the machine; this one did not start' ;;
    "$REMOTE_PACKAGE_MISMATCH")
      fail package "the install package $REMOTE_PACKAGE does not match its sha256 on the target (${in_last:-no output})" "$EXIT_PACKAGE_MISMATCH"
      ;;
    *)
      check_ssh join "$in_status"
      fail join "the install script ended with exit $in_status: ${in_last:-no output}"
      ;;
  esac
}

# Ends the join's ssh when the script is stopped: its session closing is what stops the join on
# the target, where no signal of ours can reach.
stop_join() {
  [ -z "$JOIN_PID" ] || kill "$JOIN_PID" 2>/dev/null || true
}

cleanup() {
  if [ -n "$REMOTE_DIR" ] && [ -n "$WORK_DIR" ]; then
    remote "$WORK_DIR/cleanup.out" "penetrator_remote cleanup $(sq "$REMOTE_DIR")" || true
  fi
  [ -z "$WORK_DIR" ] || rm -rf -- "$WORK_DIR"
}

main() {
  read_env
  read_params "${PENETRATOR_PARAMS_FILE:-/opt/penetrator/script/params}"
  WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/penetrator.XXXXXXXX") || fail setup 'cannot create a temporary directory' "$EXIT_INVALID_INPUT"
  trap cleanup EXIT
  trap 'stop_join; fail interrupted "stopped by a signal"' INT TERM HUP
  read_pinned_host_key
  read_credential
  progress "installing $NODE_NAME at $TARGET_IP with $INSTALLER"
  detect_arch
  copy_package
  install_node
  progress "joined the cluster as $NODE_NAME"
  report_host_key
}

# Tests source the functions alone.
if [ "${PENETRATOR_LIB_ONLY:-}" != 1 ]; then
  main "$@"
fi
