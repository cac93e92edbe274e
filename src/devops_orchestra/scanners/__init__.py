"""One adapter per external scanner, all behind the small interface in base.py."""

from devops_orchestra.scanners.bandit import BanditScanner
from devops_orchestra.scanners.base import Scanner
from devops_orchestra.scanners.checkov import CheckovScanner
from devops_orchestra.scanners.deps import DepsScanner
from devops_orchestra.scanners.secrets import SecretsScanner
from devops_orchestra.scanners.semgrep import SemgrepScanner
from devops_orchestra.scanners.zizmor import ZizmorScanner

ALL: dict[str, Scanner] = {
    s.name: s for s in (SemgrepScanner(), BanditScanner(), SecretsScanner(), CheckovScanner(), ZizmorScanner(),
                        DepsScanner())
}
