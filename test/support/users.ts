// Users the local control plane knows besides its admin, for tests under RBAC.
export const controllerNamespace = 'namespace-isolation-controller';
export const controllerServiceAccount = 'namespace-isolation-controller';
/** The user name a ServiceAccount token authenticates as, and its groups. */
export const controllerUser = `system:serviceaccount:${controllerNamespace}:${controllerServiceAccount}`;
export const controllerGroups = ['system:serviceaccounts', `system:serviceaccounts:${controllerNamespace}`];
/** A user no RBAC rule mentions. */
export const nobodyUser = 'nobody';
