# Sourced by ./jlm and ./run-tests: finds a JDK 25+ and exports JAVA_HOME for this process only.
# Order: $JAVA_HOME if it is 25+, else the newest JDK 25+ under /usr/lib/jvm (or /usr/java, /opt/java), else an error.

jlm_java_major() { # prints the feature version of the java binary $1, or nothing
  "$1" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}' | cut -d. -f1
}

jlm_find_jdk() {
  local cand major best="" bestmajor=0
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ] && [ -x "$JAVA_HOME/bin/javac" ]; then
    major=$(jlm_java_major "$JAVA_HOME/bin/java")
    if [ -n "$major" ] && [ "$major" -ge 25 ]; then echo "$JAVA_HOME"; return 0; fi
  fi
  for cand in /usr/lib/jvm/* /usr/java/* /opt/java/* /opt/jdk*; do
    [ -x "$cand/bin/java" ] && [ -x "$cand/bin/javac" ] || continue
    [ -L "$cand" ] && continue
    major=$(jlm_java_major "$cand/bin/java")
    if [ -n "$major" ] && [ "$major" -ge 25 ] && [ "$major" -gt "$bestmajor" ]; then best=$cand; bestmajor=$major; fi
  done
  if [ -n "$best" ]; then echo "$best"; return 0; fi
  return 1
}

# The detection starts a JVM per candidate (~0.25 s); remember its answer for the same $JAVA_HOME.
JLM_JDK_CACHE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target/jdk-path"
JLM_JDK=""
if [ -f "$JLM_JDK_CACHE" ]; then
  IFS='|' read -r jlm_cached_in jlm_cached_out < "$JLM_JDK_CACHE" || true
  if [ "$jlm_cached_in" = "${JAVA_HOME:-}" ] && [ -x "$jlm_cached_out/bin/java" ] && [ -x "$jlm_cached_out/bin/javac" ]; then
    JLM_JDK="$jlm_cached_out"
  fi
fi
if [ -z "$JLM_JDK" ] && JLM_JDK=$(jlm_find_jdk); then
  mkdir -p "$(dirname "$JLM_JDK_CACHE")" && printf '%s|%s\n' "${JAVA_HOME:-}" "$JLM_JDK" > "$JLM_JDK_CACHE" 2>/dev/null || true
fi
if [ -z "$JLM_JDK" ]; then
  echo "jlm: no JDK 25 or newer found (looked at \$JAVA_HOME and /usr/lib/jvm)." >&2
  echo "jlm: install one, e.g. 'apt-get install temurin-25-jdk' (Adoptium) or 'apt-get install openjdk-25-jdk', then run again." >&2
  exit 1
fi
export JAVA_HOME="$JLM_JDK"
export MAVEN_OPTS="${MAVEN_OPTS:-} --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow"
JLM_JVM_FLAGS=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC)

jlm_need_mvn() {
  if ! command -v mvn >/dev/null 2>&1; then
    echo "jlm: Apache Maven is needed to build jlm; install it with 'apt-get install maven'." >&2
    exit 1
  fi
}
