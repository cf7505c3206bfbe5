"""Fail early, with the install command, when no Java 17/21 is available for Spark 4."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

INSTALL_HINT = "install it with: sudo apt-get install -y openjdk-17-jre-headless   (or set JAVA_HOME to a JDK 17/21)"


def main() -> int:
    java = shutil.which("java")
    if java is None:
        print(f"error: Java not found; Spark 4 needs Java 17 or 21; {INSTALL_HINT}", file=sys.stderr)
        return 1
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "(\d+)', out)
    major = int(match.group(1)) if match else 0
    if major not in (17, 21):
        print(f"error: found Java {major or 'unknown'} at {java}; Spark 4 needs 17 or 21; {INSTALL_HINT}",
              file=sys.stderr)
        return 1
    print(f"java {major} ok ({java})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
