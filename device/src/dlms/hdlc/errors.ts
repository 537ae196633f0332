// The DLMS stack has one error base class; it lives in ../errors.ts (shared with axdr/ and cosem/).
export { DlmsError, type DlmsErrorCode } from '../errors.js';
