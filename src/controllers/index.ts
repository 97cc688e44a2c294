// The controllers the manager runs. A new controller is a folder beside namespace/ and a line here.
import type { Controller } from '../runtime/manager.ts';
import type { Deps } from './deps.ts';
import { complianceController } from './compliance/index.ts';
import { dataplaneController } from './dataplane/index.ts';
import { namespaceController } from './namespace/index.ts';

export const controllers: Controller<Deps>[] = [
  namespaceController,
  complianceController,
  dataplaneController,
];
