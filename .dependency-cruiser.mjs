// The import rules of ProgImage's layers (docs/architecture.md, "Layout of
// the folders" and "Tooling"), checked by `npm run lint`:
//
//   root (services.ts, main.ts)  composes the services (api/main.ts runs services.ts's list)
//   services (admin/ api/ catalog/ ingest/ scheduler/ webhooks/ processors/<stage>/)
//     import lib/ and nothing of each other
//   lib/  shared code; never a service, never HTTP (Koa) below lib/http
//   packages/transform-language  (@progimage/transform-language) the bottom layer: the server (lib/, services)
//     and the client (sdk/) import it by its name; it imports Node and its own packages only
//
// Violations that existed when a rule was written are listed in
// .dependency-cruiser-known-violations.json (one entry per importing file and
// imported file) and counted as ignored (`--ignore-known`); a new one fails lint. Shrink that file as they are
// fixed: `npx depcruise --output-type baseline --config .dependency-cruiser.mjs . > .dependency-cruiser-known-violations.json`
// regenerates it (review the diff: it must only lose entries).

/** A service folder: the first group is the service, so `$1` names the importer's own service. */
const SERVICE = '^(admin|catalog|ingest|scheduler|webhooks|api|processors/[^/]+)/';

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'An import cycle: the modules cannot be read, tested or moved one at a time, and their evaluation order decides ' +
        'which of them sees the other half-initialised. Type-only imports count too (a type cycle still ties the modules together).',
      from: {},
      to: { circular: true },
    },
    {
      name: 'lib-not-to-services',
      severity: 'error',
      comment: 'lib/ is the shared code below every service: it never imports a service folder, services.ts or main.ts.',
      from: { path: '^lib/' },
      to: { path: [`${SERVICE}`, '^(services|main)\\.ts$'] },
    },
    {
      name: 'no-service-to-other-service',
      severity: 'error',
      comment:
        "A service imports lib/ and its own folder, never another service's modules (what two services share belongs in lib/). " +
        'The composition root is services.ts (and main.ts, api/main.ts through it), which is outside every service folder.',
      from: { path: SERVICE },
      to: { path: SERVICE, pathNot: '^$1/' },
    },
    {
      name: 'transform-language-at-the-bottom',
      severity: 'error',
      comment:
        'The transform language (packages/transform-language) is shared by the server and the client, so it imports neither: ' +
        'its own files, Node and its packages (zod) only.',
      from: { path: '^packages/transform-language/' },
      to: { pathNot: '^(packages/transform-language/|node_modules/)', dependencyTypesNot: ['core'] },
    },
    {
      name: 'server-not-to-client-sources',
      severity: 'error',
      comment:
        "The server reads the transform language through its package (@progimage/transform-language), never the client's source files by path. " +
        'Only the client (sdk/) and the tests, which drive the server with the client as a user would, import sdk/src.',
      from: { pathNot: '^(sdk|test)/' },
      to: { path: '^sdk/src/' },
    },
    {
      name: 'client-not-to-server',
      severity: 'error',
      comment:
        'The client (sdk/) is published on its own: it imports its own files, Node, its packages and the transform language ' +
        '(which its build compiles into its dist/), never the server.',
      from: { path: '^sdk/' },
      to: { pathNot: '^(sdk/|node_modules/|packages/transform-language/)', dependencyTypesNot: ['core'] },
    },
    {
      name: 'no-http-framework-below-lib-http',
      severity: 'error',
      comment:
        'Nothing below lib/http speaks HTTP: errors say what went wrong and whether a retry can help, lib/http picks the status. ' +
        'Allowed: lib/service/ is the service host that builds the Koa app and mounts the routes and middleware, the layer beside lib/http.',
      from: { path: '^lib/', pathNot: '^lib/(http|service)/' },
      to: { path: ['^node_modules/(@types/)?(koa|koa-body|koa__router|@koa/[^/]+)/', '^lib/http/errors\\.ts$'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to no file (a typo, or a package missing from package.json).',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules'] },
    exclude: { path: ['^sdk/dist/', '^data/', '^coverage/'] },
    // Type-only imports are dependencies too: they are what makes a type cycle visible.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: false,
    cache: false,
  },
};
