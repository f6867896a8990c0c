// How to install each backend, per operating system, in words `carapace doctor` and error messages can show.
import fs from 'node:fs';

export type HostOs = 'debian' | 'fedora' | 'arch' | 'suse' | 'alpine' | 'linux' | 'macos' | 'other';

/** The host's OS family, from /etc/os-release (ID, then ID_LIKE) on Linux. */
export function hostOs(platform: string = process.platform, osRelease?: string): HostOs {
  if (platform === 'darwin') return 'macos';
  if (platform !== 'linux') return 'other';
  let text = osRelease;
  if (text === undefined) {
    try {
      text = fs.readFileSync('/etc/os-release', 'utf8');
    } catch {
      return 'linux';
    }
  }
  const field = (k: string) => new RegExp(`^${k}="?([^"\\n]*)`, 'm').exec(text!)?.[1] ?? '';
  const ids = `${field('ID')} ${field('ID_LIKE')}`.split(/\s+/);
  const families: [HostOs, string[]][] = [
    ['debian', ['debian', 'ubuntu']],
    ['fedora', ['fedora', 'rhel', 'centos']],
    ['arch', ['arch']],
    ['suse', ['suse', 'opensuse']],
    ['alpine', ['alpine']],
  ];
  return families.find(([, names]) => ids.some((id) => names.includes(id)))?.[0] ?? 'linux';
}

const HINTS: Record<string, Partial<Record<HostOs, string>> & { any: string }> = {
  bwrap: {
    debian: 'Install it: `sudo apt-get install bubblewrap`.',
    fedora: 'Install it: `sudo dnf install bubblewrap`.',
    arch: 'Install it: `sudo pacman -S bubblewrap`.',
    suse: 'Install it: `sudo zypper install bubblewrap`.',
    alpine: 'Install it: `sudo apk add bubblewrap`.',
    macos: 'bubblewrap is Linux-only; on macOS use Apple Container or Docker.',
    any: 'Install bubblewrap from your distribution (Linux only).',
  },
  docker: {
    debian: 'Install and start it: `sudo apt-get install docker.io && sudo systemctl enable --now docker`, then `sudo usermod -aG docker $USER` and log in again.',
    fedora: 'Install and start it: `sudo dnf install moby-engine && sudo systemctl enable --now docker`, then `sudo usermod -aG docker $USER`.',
    arch: 'Install and start it: `sudo pacman -S docker && sudo systemctl enable --now docker`, then `sudo usermod -aG docker $USER`.',
    suse: 'Install and start it: `sudo zypper install docker && sudo systemctl enable --now docker`.',
    alpine: 'Install and start it: `sudo apk add docker && sudo rc-update add docker && sudo service docker start`.',
    macos: 'Install Docker Desktop (https://docs.docker.com/desktop/) or `brew install colima docker && colima start`.',
    any: 'See https://docs.docker.com/engine/install/ and start the daemon.',
  },
  podman: {
    debian: 'Install it: `sudo apt-get install podman catatonit`.',
    fedora: 'Install it: `sudo dnf install podman`.',
    arch: 'Install it: `sudo pacman -S podman`.',
    suse: 'Install it: `sudo zypper install podman`.',
    alpine: 'Install it: `sudo apk add podman`.',
    macos: 'Install it: `brew install podman && podman machine init && podman machine start`.',
    any: 'See https://podman.io/docs/installation.',
  },
  apple: {
    macos: 'Needs macOS 26+ on Apple silicon: install the signed package from https://github.com/apple/container/releases (1.1.0 or later), then run `container system start`.',
    any: 'Apple Container runs only on macOS 26+ on Apple silicon.',
  },
};

export function installHint(kind: string, os: HostOs = hostOs()): string {
  const h = HINTS[kind];
  return h ? (h[os] ?? h.any) : '';
}
