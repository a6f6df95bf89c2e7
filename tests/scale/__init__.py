"""Scale-out tests: a real Dask cluster on loopback, a store on an S3-compatible server (moto)."""
