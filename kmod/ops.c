// SPDX-License-Identifier: GPL-2.0
/*
 * Executing one op on behalf of the process, from one of its threads (a
 * poller or a blocking worker inside RUN_WORKER), so fds, memory and
 * credentials are the process's own. User buffers are only reached through
 * iov_iter (import_single_range / import_iovec) and uaccess helpers.
 *
 * fastio_exec_nonblock() never sleeps on the network: socket ops run with
 * MSG_DONTWAIT (and MSG_NOSIGNAL), and a socket that is not ready returns
 * FASTIO_PARK with the poll events to park on. Anything that may sleep on a
 * disk returns FASTIO_OFFLOAD instead.
 */
#include <linux/file.h>
#include <linux/fdtable.h>
#include <linux/net.h>
#include <linux/socket.h>
#include <linux/uio.h>
#include <linux/uaccess.h>
#include <linux/slab.h>
#include <net/sock.h>
#include "fastio_internal.h"

/* fget() that refuses /dev/fastio itself: a context must not hold a
 * reference to its own file (it would never be released). */
struct file *fastio_fget(int fd)
{
	struct file *file = fget(fd);

	if (!file)
		return ERR_PTR(-EBADF);
	if (file->f_op == &fastio_fops) {
		fput(file);
		return ERR_PTR(-EBADF);
	}
	return file;
}

static void __user *uptr(u64 addr)
{
	return u64_to_user_ptr(addr);
}

/* Receives into the user buffer [addr, addr + len): a RECV's own, or one a
 * BUFFER_SELECT RECV took from its group (bufs.c). */
int fastio_recv_buf(struct socket *sock, u64 addr, u32 len, unsigned int flags)
{
	struct msghdr msg = {};
	struct iovec iov;
	int ret;

	/* access_ok() inside: a kernel address is -EFAULT here. */
	ret = import_single_range(ITER_DEST, uptr(addr), len, &iov, &msg.msg_iter);
	if (ret)
		return ret;
	msg.msg_flags = flags;
	return sock_recvmsg(sock, &msg, flags);
}

static int fio_recv(struct socket *sock, const struct fastio_sqe *sqe, unsigned int flags)
{
	return fastio_recv_buf(sock, sqe->addr, sqe->len, flags);
}

static int fio_send(struct socket *sock, const struct fastio_sqe *sqe, unsigned int flags)
{
	struct msghdr msg = {};
	struct iovec iov;
	int ret;

	ret = import_single_range(ITER_SOURCE, uptr(sqe->addr), sqe->len, &iov, &msg.msg_iter);
	if (ret)
		return ret;
	msg.msg_flags = flags;
	return sock_sendmsg(sock, &msg);
}

static int fio_sendv(struct socket *sock, const struct fastio_sqe *sqe, unsigned int flags)
{
	struct iovec fast[UIO_FASTIOV], *iov = fast;
	struct msghdr msg = {};
	ssize_t ret;

	/* Copies and checks the user's iovec array (sqe->len <= UIO_MAXIOV). */
	ret = import_iovec(ITER_SOURCE, uptr(sqe->addr), sqe->len, UIO_FASTIOV, &iov,
			   &msg.msg_iter);
	if (ret < 0)
		return ret;
	msg.msg_flags = flags;
	ret = sock_sendmsg(sock, &msg);
	kfree(iov);
	return ret;
}

/* Copies the peer's address to the user's sockaddr/socklen, like accept4. */
static int copy_peer(struct socket *newsock, const struct fastio_sqe *sqe)
{
	struct sockaddr_storage ss;
	int __user *ulenp = uptr(sqe->off);
	int len, ulen;

	if (!sqe->addr)
		return 0;
	if (!sqe->off)
		return -EINVAL;
	len = kernel_getpeername(newsock, (struct sockaddr *)&ss);
	if (len < 0)
		return len;
	if (get_user(ulen, ulenp))
		return -EFAULT;
	if (ulen < 0)
		return -EINVAL;
	if (copy_to_user(uptr(sqe->addr), &ss, min(ulen, len)))
		return -EFAULT;
	if (put_user(len, ulenp))
		return -EFAULT;
	return 0;
}

static int fio_accept(struct socket *sock, const struct fastio_sqe *sqe, int nonblock)
{
	struct socket *newsock;
	struct file *newfile;
	int fd, ret;

	ret = kernel_accept(sock, &newsock, nonblock);
	if (ret)
		return ret;
	ret = copy_peer(newsock, sqe);
	if (ret)
		goto release;
	fd = get_unused_fd_flags((sqe->op_flags & SOCK_CLOEXEC) ? O_CLOEXEC : 0);
	if (fd < 0) {
		ret = fd;
		goto release;
	}
	/* On failure sock_alloc_file() releases newsock itself. */
	newfile = sock_alloc_file(newsock, (sqe->op_flags & SOCK_NONBLOCK) ? O_NONBLOCK : 0, NULL);
	if (IS_ERR(newfile)) {
		put_unused_fd(fd);
		return PTR_ERR(newfile);
	}
	fd_install(fd, newfile);
	return fd;
release:
	sock_release(newsock);
	return ret;
}

/* The op itself, without blocking; -EAGAIN with *events set when the socket
 * is not ready. */
static int try_op(const struct fastio_sqe *sqe, struct socket *sock, __poll_t *events)
{
	unsigned int flags = sqe->op_flags | MSG_DONTWAIT | MSG_NOSIGNAL;

	switch (sqe->opcode) {
	case FASTIO_OP_READ:
		*events = EPOLLIN | EPOLLRDHUP;
		return fio_recv(sock, sqe, MSG_DONTWAIT | MSG_NOSIGNAL);
	case FASTIO_OP_WRITE:
		*events = EPOLLOUT;
		return fio_send(sock, sqe, MSG_DONTWAIT | MSG_NOSIGNAL);
	case FASTIO_OP_RECV:
		*events = EPOLLIN | EPOLLRDHUP;
		return fio_recv(sock, sqe, flags);
	case FASTIO_OP_SEND:
		*events = EPOLLOUT;
		return fio_send(sock, sqe, flags);
	case FASTIO_OP_SENDV:
		*events = EPOLLOUT;
		return fio_sendv(sock, sqe, flags);
	case FASTIO_OP_ACCEPT:
		*events = EPOLLIN;
		return fio_accept(sock, sqe, O_NONBLOCK);
	}
	return -EINVAL;
}

enum fastio_next fastio_exec_nonblock(const struct fastio_sqe *sqe, struct file *file, int *res,
				      __poll_t *events)
{
	struct socket *sock = sock_from_file(file);

	*events = 0;
	switch (sqe->opcode) {
	case FASTIO_OP_READ:
	case FASTIO_OP_WRITE:
		/* On a socket, READ/WRITE are recv/send; on anything else they
		 * may sleep (disk, pipe), which only blocking workers may do. */
		if (!sock)
			return FASTIO_OFFLOAD;
		break;
	case FASTIO_OP_FSYNC:
		return FASTIO_OFFLOAD;
	default:
		if (!sock) {
			*res = -ENOTSOCK;
			return FASTIO_DONE;
		}
	}
	*res = try_op(sqe, sock, events);
	return (*res == -EAGAIN && *events) ? FASTIO_PARK : FASTIO_DONE;
}

static ssize_t fio_rw(const struct fastio_sqe *sqe, struct file *file)
{
	bool reading = sqe->opcode == FASTIO_OP_READ;
	bool at_pos = sqe->off == FASTIO_OFF_CURRENT;
	bool lock_pos;
	struct iov_iter iter;
	struct iovec iov;
	loff_t pos;
	ssize_t ret;

	if (!at_pos && sqe->off > LLONG_MAX)
		return -EINVAL;
	ret = import_single_range(reading ? ITER_DEST : ITER_SOURCE, uptr(sqe->addr), sqe->len,
				  &iov, &iter);
	if (ret)
		return ret;
	/* At the file position: under f_pos_lock where the file wants it
	 * (FMODE_ATOMIC_POS, as read(2) does), or two ops at once would read
	 * the same bytes or lose an update. Always, not only when shared:
	 * our own workers and the process's threads share the file. */
	lock_pos = at_pos && (file->f_mode & FMODE_ATOMIC_POS);
	if (lock_pos)
		mutex_lock(&file->f_pos_lock);
	pos = at_pos ? file->f_pos : (loff_t)sqe->off;
	if (reading)
		ret = vfs_iter_read(file, &iter, &pos, 0);
	else
		ret = vfs_iter_write(file, &iter, &pos, 0);
	if (at_pos && ret >= 0)
		file->f_pos = pos;
	if (lock_pos)
		mutex_unlock(&file->f_pos_lock);
	return ret;
}

/* On a blocking worker: may sleep as long as the op needs. Socket ops block
 * (no MSG_DONTWAIT) but wake up for signals, so teardown and exit work. */
int fastio_exec_blocking(const struct fastio_sqe *sqe, struct file *file)
{
	unsigned int flags = sqe->op_flags | MSG_NOSIGNAL;
	struct socket *sock = sock_from_file(file);

	switch (sqe->opcode) {
	case FASTIO_OP_READ:
	case FASTIO_OP_WRITE:
		return fio_rw(sqe, file);
	case FASTIO_OP_FSYNC:
		return vfs_fsync(file, !!(sqe->op_flags & FASTIO_FSYNC_DATASYNC));
	}
	if (!sock)
		return -ENOTSOCK;
	switch (sqe->opcode) {
	case FASTIO_OP_RECV:
		return fio_recv(sock, sqe, flags & ~MSG_DONTWAIT);
	case FASTIO_OP_SEND:
		return fio_send(sock, sqe, flags & ~MSG_DONTWAIT);
	case FASTIO_OP_SENDV:
		return fio_sendv(sock, sqe, flags & ~MSG_DONTWAIT);
	case FASTIO_OP_ACCEPT:
		return fio_accept(sock, sqe, 0);
	}
	return -EINVAL;
}
