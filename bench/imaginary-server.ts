import { spawnSync } from 'node:child_process';
import { goTool } from '../infra/local/go-tools.ts';
import { startServerProcess, type OtherServer, type TransformWork } from './server-process.ts';

/**
 * imaginary (https://github.com/h2non/imaginary), a Go image server on
 * libvips, sent the fixture as request data: POST /crop is fit cover, centred.
 * Its defaults (every CPU), but for its access log: off, as ProgImage logs no
 * line per request. Its version is infra/imaginary/go.mod's, built by
 * infra/local/go-tools.ts on first use against Debian's libvips-dev.
 */
export async function startImaginary({ fixture, quality }: TransformWork): Promise<OtherServer> {
  const server = await startServerProcess({
    name: 'imaginary',
    command: await goTool('imaginary'),
    args: (port) => ['-a', '127.0.0.1', '-p', String(port), '-log-level', 'error'],
    healthPath: '/health',
  });
  const libvips = spawnSync('pkg-config', ['--modversion', 'vips'], { encoding: 'utf8' }).stdout.trim();
  return {
    ...server,
    label: 'imaginary 1.2.4, POST /crop (request data)',
    about: `imaginary: on libvips ${libvips} (libjpeg-turbo), its defaults (every CPU) without its access log; metadata stripped`,
    request: ([width, height]) => ({
      method: 'POST',
      path: `/crop?width=${width}&height=${height}&quality=${quality}&type=jpeg&stripmeta=true`,
      headers: { 'Content-Type': 'image/jpeg' },
      body: fixture,
    }),
  };
}
