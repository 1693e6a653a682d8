import { mkdirSync } from 'node:fs';
import { localStackEnvironment, runDir } from './settings.ts';
import { ServerStartError, stackStatus, startStack, stopStack } from './stack-runner.ts';
import { MissingToolError } from './tools.ts';

const USAGE = 'usage: tsx infra/local/stack.ts up | down | status | env';

async function main(command: string | undefined): Promise<void> {
  mkdirSync(runDir, { recursive: true });
  switch (command) {
    case 'up':
      await startStack((line) => {
        console.log(line);
      });
      return;
    case 'down':
      await stopStack((line) => {
        console.log(line);
      });
      return;
    case 'status':
      for (const line of await stackStatus()) console.log(line);
      return;
    case 'env':
      for (const [name, value] of Object.entries(localStackEnvironment())) console.log(`export ${name}=${value}`);
      return;
    default:
      console.error(USAGE);
      process.exitCode = 2;
  }
}

try {
  await main(process.argv[2]);
} catch (error) {
  // Known failures carry a message that says what to do; anything else shows its stack.
  console.error(error instanceof MissingToolError || error instanceof ServerStartError ? error.message : error);
  process.exitCode = 1;
}
