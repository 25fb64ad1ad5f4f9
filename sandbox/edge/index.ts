export { grantBootstrapJoin, BOOTSTRAPPERS_GROUP } from './grant-bootstrap-join';
export { caPublicKeyHash } from './discovery';
