"""EM on a Dask cluster (``--engine dask``): the rows stay in partitions on the workers, each
E-step pass is a task per partition (the local engine's chunked E-step inside it), and only
the statistics and the parameters cross the network.  dask and distributed are the optional
extra ``emtool[dask]``; nothing here is imported unless the engine is asked for."""
