# The compiled core's C-level declarations, shared with other compiled modules (cimport).

cdef class FastPath:
    cdef int run(self, NodeBase node, NetworkBase network) except -1


cdef class NodeBase:
    cdef public list _children
    cdef public long long _fired
    cdef public long long _queued
    cdef public Py_ssize_t _rank
    cdef public long long _id
    cdef public object _network
    cdef public object name
    cdef public object _value
    cdef public bint _valid
    cdef public FastPath _fast
    cdef readonly bint _plain


cdef class NetworkBase:
    cdef public long long _cycle
    cdef public long long _version
    cdef public bint _in_cycle
    cdef public bint _draining
    cdef public object _deferred
    cdef public list _buckets
    cdef public Py_ssize_t _size
    cdef public object _ids
    cpdef bint activate(self, NodeBase source) except -1


cdef class RowView:
    cdef public Py_ssize_t i
    cdef public object batch
    cdef const long long[::1] ts
    cdef const double[::1] price
    cdef const double[::1] qty
